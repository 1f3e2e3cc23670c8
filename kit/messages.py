"""The sentences the grading machinery says, about any exercise; tests import these constants.

A sentence about one exercise's behaviour (SGD's buffer, conv_transpose2d's crop) lives in that
exercise's grading test, next to the check that says it; a known mistake's why and fix live in
kit/misconceptions.py. Everything else a student or an instructor reads is here.
"""

NOT_IMPLEMENTED = "not implemented yet"
# torch's error (a words of its message) -> the rule behind it, said after the error: a fact about
# torch, not a guess at the student's mistake
TORCH_ERRORS = {
    "a leaf Variable that requires grad is being used in an in-place operation":
        "torch refuses to change a parameter in place while autograd records: an optimizer updates "
        "parameters inside `with torch.no_grad():`",
    "mat1 and mat2 shapes cannot be multiplied":
        "A @ B needs A's last size to equal B's first: in a linear layer, x's last size must be the weight's "
        "in_features (the weight is (out_features, in_features)); when x's is not, the layer that made x is where to look",
}
ON_CASE = "on case: {case}"

RAISED = "raised {type}: {message}"
RAISED_AT = "raised {type} at {where}: `{line}`: {message}"
IMPORT_FAILED = "{module}.py could not be imported"
MODULE_MISSING = "{module}.py is missing from {target}"
CRASH_DURING_IMPORT = "{detail} while importing {module}.py"
TIMEOUT = "{detail}: look for a loop that never ends, or make it faster"
SKIPPED_AFTER_TIMEOUT = "not run: an earlier case of this test took too long"
NOT_RUN = "did not run: {reason}"
KIT_ERROR = "the grading test itself failed (please report this): {error}"

FORBIDDEN = {
    "convolution": "called {event}, a built-in convolution (F.conv2d, nn.Conv2d, torch.conv2d, "
                   "F.unfold, F.fold, torch.stft, numpy's correlate/convolve, sympy's polynomial products and torch's own "
                   "decompositions all "
                   "end there): write the loops yourself",
    "autograd": "used autograd (loss.backward(), torch.autograd.grad, torch.func, dual tensors, TorchScript, "
                "switching grad mode on, or a graph's nodes): in this exercise you compute every gradient by hand "
                "with the chain rule",
    "torch.optim": "used torch.optim: this exercise is to write what the optimizer does, so "
                   "update the tensors yourself",
    "layers": "used torch's own linear or relu (F.linear, nn.Linear, F.bilinear, torch.relu, F.relu, leaky_relu, elu, "
              "F.threshold, hardtanh, softplus, or another linear map or rectifier operator): "
              "that is the answer itself; write them from tensor operations (x @ weight.T + bias, x.clamp(min=0))",
    "losses": "used torch's own loss (F.mse_loss, F.huber_loss, F.cross_entropy, F.nll_loss, log_softmax, "
              "F.gaussian_nll_loss, a torch.distributions log_prob, or another loss or log_softmax operator): "
              "that is the answer "
              "itself; write it from tensor operations (exp, log, max, gather, mean)",
    "memory": "used a tool that reads or writes memory outside a tensor's own (Tensor.set_, sparse or "
              "nested tensors, segment_reduce, batch norm's running statistics, torch.cummax/cummin, fused "
              "optimizer kernels, torch's derivative kernels (but activations', losses' and softmax's), or "
              "another operator that writes into tensors it does not check): "
              "grading does not allow them; "
              "index, slice, view and reshape instead",
    "kernels": "called {event}, one of torch's convolution operators (F.conv2d, nn.Conv2d, F.unfold, ...): they "
               "trust the sizes they are given, so while grading they run in the grader only, never beside your "
               "code. No exercise needs one: in cnn.py, use the parts by the names cnn.py imports (conv2d, "
               "conv2d_backward), which the grader computes with torch's own",
    "private": "called {event}, one of torch's private operators (its name starts with _): they are the insides "
               "of torch's public operations and skip the checks those make, so grading allows the public ones only "
               "(if you called a public torch function, it is one that no exercise needs: write it from indexing, "
               "slicing and arithmetic)",
    "bindings": "called {event}, one of torch's internal bindings (TorchScript's graph functions, tensorexpr, "
                "lazy tensors, distributed, ...: they trust what they are given): grading does not allow them, "
                "and no exercise needs one",
    "internal": "called one of torch's internal operators (torch.ops.inductor, mkl, prims, quantized, "
                "static_runtime, ...: anything outside torch.ops.aten): grading allows torch's public operators only",
    "solutions": "tried to read the reference solutions",
    "unknown": "ended the worker with the grader's own code for a forbidden call",
}
NO_MATPLOTLIB = '(no PNG written to {path}: matplotlib is not installed; pip install -e ".[plot]")'
LIBRARY_CONVOLUTION = "a library's convolution function"  # {event} when no operator name is known

# what came back instead of a tensor
WRONG_TYPE = "{what} should be a torch.Tensor, but your code returned {got}"
RETURNED_NONE = "{what} should be a torch.Tensor, but your code returned None (missing `return`?)"
RETURNED_NUMPY = ("{what} should be a torch.Tensor, but your code returned a numpy array: "
                  "convert it with torch.from_numpy(...)")
WRONG_SHAPE = "{what} has shape {got}, expected {expected}"
WRONG_DTYPE = "{what} has dtype {got}, expected {expected} (the output dtype is the input's dtype)"
NOT_FINITE = "{what} has {count} nan/inf values where torch has finite ones (first at index {index})"
VALUES_DIFFER = ("{what}: wrong values, off by up to {err:.3g}{rel} at index {index}: "
                 "expected {exp:.6g}, got {got:.6g}; {dtype} allows {tol:.2g} there")
LOOKS_LIKE = "looks like {name}: {why} Fix: {fix}. [{detail}]"
LOOKS_LIKE_ONE_OF = "looks like {names}: on this case each gives exactly your answer. {each} [{detail}]"
ONE_OF_EACH = "If {name}: {why} Fix: {fix}."
NO_KNOWN_MISTAKE = "no known mistake matches this answer"
GRAD_SHOULD_BE_NONE = "{what} should be None (as torch leaves it), but it is a tensor"
GRAD_SHOULD_EXIST = "{what} should be a tensor, but it is None"

# practice mode: student code ran without the OS sandbox (Report.sandbox_note says why)
PRACTICE_NOTICE = "{note} -- a grade for practice, not a trusted grade"

# --batch: what a submission's row says when its grading did not finish
BATCH_FAILED = "grading this submission failed: {error}"
BATCH_LANE_DIED = ("grading this submission ended its grading process ({how}), "
                   "also when graded again alone in a fresh one")
BATCH_DEADLINE = ("grading this submission took longer than {limit:g} s in all, "
                  "the most --batch gives one submission: it was stopped")

# the sandbox (kit/sandbox.py, kit/worker/jail.py)
PRACTICE_MODE = "practice mode: not sandboxed ({reason})"
SANDBOX_REQUIRED = ("this grading run must be sandboxed, but the system offers no sandbox here: {reason}. "
                    "Grade on Linux with user namespaces and libseccomp, or pass --allow-unsandboxed "
                    "(the report then says it was not sandboxed)")
SOURCE_UNREADABLE = "{module}.py could not be read by the grader ({reason}): it must be a regular file"
SOURCE_TOO_LARGE = "{module}.py is larger than {limit} bytes: the grader does not read it"
ZYGOTE_LOST = "the grading worker stopped answering and was replaced"
EXERCISE_BUDGET_SPENT = ("not run: this exercise's calls into your code have used up its time budget ({budget:g} s "
                         "in all): look for a loop that never ends, or make it faster")
SUBMISSION_BUDGET_SPENT = ("not run: the calls into your code have used up the whole submission's time budget "
                           "({budget:g} s in all): look for loops that never end, or make them faster")
WORKER_DID_NOT_START = "the grading worker could not start (not your code; please report this): {tail}"
SANDBOX_SWITCHED_OFF = "GRADER_SANDBOX=off"
REPLY_TOO_LARGE = ("your code's answer was {size} bytes, far more than this case asks for (at most {limit} "
                   "bytes): check the shapes you return")
STOPPED_BY_BUDGET = "was stopped after {seconds:.2g} s, when the time budget for these calls ({budget:g} s in all) ran out"
INPUT_CHANGED = ("{function} changed its input in place (argument {position}, the {shape} tensor): compute the "
                 "result in new tensors and leave every input as it was (no x.add_(...), x[...] = ..., "
                 "x -= ... on an argument)")
CONSTANT_RATIO = "every value is {ratio} torch's"
RATIO_IS_SIZE = " ({n} is {what} here)"
SWAPPED = "it is torch's answer with dimensions {a} and {b} swapped (a transpose)"
PERMUTED = "it is torch's answer with its dimensions in the order ({order})"
SHIFTED = "it is torch's answer shifted by one along dimension {dim}: each value sits one index {where} than torch's"
DIFFERS_AT = "; {count} of {total} values differ{places}"  # when no known mistake explains them: where
DIFFERS_ONLY_AT = "only in {name} [{indices}]"
DIFFERS_WHERE_ZERO = "all where torch's value is 0"

# The README's "What each exercise may not call" table (kit.manifest.rules_table), one entry per
# rule in kit/worker/contract.py: exactly what rules.py enforces where an exercise forbids it.
NO_GPU = ("CUDA: no GPU is visible in any worker; raw memory: ctypes, a numpy array made from an address "
          "(`__array_interface__`), `as_strided` past an array's memory, torch's storage-pointer functions, "
          "`Tensor.set_`, sparse and nested tensors, `segment_reduce(unsafe=True)`, batch norm's running statistics, "
          "`torch.cummax`/`cummin`, fused optimizer kernels (every operator that writes into a tensor argument "
          "torch does not shape), torch's derivative kernels but activations', losses' and softmax's, "
          "torch's internal operators "
          "(anything outside `torch.ops.aten`: `inductor`, `mkl`, `prims`, `quantized`, ...) and its private ones "
          "(`torch.ops.aten._*` with a kernel of their own, but the insides of public operations honest code uses: "
          "`item()`, `softmax`, `x[i] = v`, `stack`, `unique`, `torch.fft`, `torch.linalg`, ...); torch's internal "
          "bindings that trust what they are given (every `torch._C._jit*` function, `torch._C._te`, `_lazy`, "
          "`_distributed*`, `_onnx`, ..., and the storage methods that take an address or a file, such as "
          "`UntypedStorage._set_cdata`); torch's convolution "
          "kernels (`F.conv*`, `nn.Conv*`, `F.unfold`, `F.fold`, ...: they trust the sizes they are given; the cnn "
          "exercise's stand-ins for your parts are computed in the grader); and loading compiled code the "
          "grader did not load (the standard library's `math`, `random`, ... and numpy's `fft`, `linalg`, `random` "
          "are loaded)")  # the rules of every worker (kit/worker/seal.py)
RULE_SUMMARY = {
    "autograd": "autograd, every route: `Tensor.backward`, `torch.autograd.grad`/`backward`/`functional`, "
                "the engine however it is reached, forward-mode dual tensors, `torch.func` (`grad`, `vjp`, "
                "`jvp`, `jacrev`, ...), any of TorchScript (compiling, tracing, loading, parsing or building graphs, every `torch._C._jit*` function: it has its own autodiff), "
                "switching grad mode back on (`torch.enable_grad`; `torch.no_grad` is fine); in these workers grad "
                "mode is off and no torch operation records a graph at all",
    "torch.optim": "anything defined in `torch.optim`, `nn.Module.zero_grad`, and the fused optimizer kernels",
    "convolution": "any convolution, im2col or col2im operator of torch (`F.conv*`, `nn.Conv*`, `torch.conv*`, "
                   "`F.conv_transpose*`, `torch.nn.grad.conv*`, `F.unfold`, `F.fold`, `nn.Unfold`, `nn.Fold`, "
                   "`torch.ops.aten.*`, mkldnn and quantized kernels), `torch.stft`/`istft` (they frame the input at a hop "
                   "and sum each frame against a window: a strided correlation), `unfold_backward` (autograd through "
                   "`Tensor.unfold`), numpy's `correlate`/`convolve` (also `numpy.ma`, `polymul`, "
                   "`numpy.polynomial`), torch's own Python decompositions of im2col/col2im/unfold, any code of "
                   "`sympy` or `mpmath` (multiplying polynomials convolves their coefficients)",
    "layers": "torch's own linear maps and rectifiers, by what the operator computes: `F.linear`, `nn.Linear`, "
              "`F.bilinear`, mkldnn's fused linear, `torch.relu`, `F.relu`, `nn.ReLU`, `leaky_relu`, `prelu`, `elu`, "
              "`F.threshold`, `hardtanh`, `softplus`, ... (and their Python references and decompositions)",
    "losses": "torch's own losses, by what the operator computes: every `*_loss` (`F.mse_loss`, `F.huber_loss`, "
              "`F.nll_loss`, ...), `F.cross_entropy`, `kl_div`, every `log_softmax` (sparse ones too), and torch's losses "
              "written in Python (every loss function and loss module of `torch.nn`, e.g. `F.gaussian_nll_loss`; any "
              "code of `torch.distributions`: a `log_prob` is a loss)",
}

# the worker, as the grader sees it end (kit/sandbox.py)
WORKER_ENDED = "your code ended the worker process"
WORKER_CRASHED = "the worker process crashed with {name}"
# SIGTRAP: a worker's sealed native code is traps (kit/worker/seal.py), or the code trapped itself
SEALED_TRAP = ("a trap (SIGTRAP): the code reached a raw-memory tool that grading seals (ctypes, a numpy "
               "array made from an address, torch's pointer functions), or raised SIGTRAP itself")
WORKER_EXITED = "your code exited the process (exit code {code})"
TOOK_TOO_LONG = "took longer than {seconds:g} s (stopped)"
MALFORMED_REPLY = "the worker sent a malformed reply ({error})"

# the shape of what student code returned (kit/compare.py)
NOT_THE_SCENARIOS_RESULTS = ("the worker returned {got} instead of the scenario's results "
                             "(does your code change the grader's own functions?)")
GRADIENT_COUNT = "expected {expected} gradients, got {got}"
GRADS_THAT_MATCH = "these match torch's: {names}"
NOT_A_FLOAT_LIST = "{what} should be a list of floats, but your code returned {got}"
FLOAT_LIST_LENGTH = "{what} has {got} entries, expected {expected} (one per batch, every epoch)"
FLOAT_IS_A_TENSOR = "{what}[{i}] is a tensor: append loss.item(), a Python float"
NOT_A_FLOAT = "{what}[{i}] should be a float, got {got}"

# optimizers (kit/optimizers.py: sgd, adam and any optimizer exercise)
GRAD_CHANGED_BY_STEP = ("{cls}.step() changed parameter {k}'s .grad in place (at step {step}): step() only reads "
                        "gradients, as torch.optim does. A buffer that is p.grad itself (buf = g, then buf.mul_(...)) "
                        "changes it: start a buffer as a copy, g.clone()")
