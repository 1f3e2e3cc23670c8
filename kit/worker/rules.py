"""The exercises' rules, however a rule's tool is reached: by name, alias, wrapper or thread.

Three families, each switched on in a worker whose exercise forbids it (guards.harden):
  "autograd"     the engine, graph recording, forward mode, torch.func, torch.autograd.functional
  "torch.optim"  every function defined in torch.optim's modules, and the fused optimizer kernels
  "convolution"  every convolution / im2col / col2im / unfold_backward operator of torch, in every
                 namespace and CPU backend (F.conv2d, nn.Conv2d, F.unfold, F.fold, torch.ops.*,
                 mkldnn and quantized kernels all end there), and the convolutions of other
                 libraries: numpy's correlate/convolve, torch's Python decompositions of
                 im2col/col2im/unfold_backward, sympy's discrete convolutions
  "layers", "losses"  torch's own linear/relu and loss operators, and their Python references

Layers, from the bottom:
- the dispatcher (autograd): every aten/prims operator's autograd kernel is replaced by a
  fallthrough, so no operation records a graph or carries a tangent, and the operators that make
  dual tensors end the worker. Nothing in Python can undo a registration: the library handles
  are leaked, with no Python reference left to them.
- threads: the sandbox's seccomp filter refuses clone, so the profile hook below sees every call.
- the profile hook: a call into a banned Python function ends the worker. Functions are known by
  their code objects' identity (collected in the zygote), so aliases, wrappers, functools.partial
  or map all land on the same code; a direct call of a banned C function is known by its name.
- absent code: in a worker under a rule, each banned function runs a code of the grader's
  (_gone) and its original is let go, so the forbidden Python code is not in the worker at all,
  whatever happened to the hooks; an original something else still holds stays banned by id.
- stubs: C functions that a C-level wrapper (functools.partial, map, operator.call) could call
  without the profile hook seeing them are replaced, in every module's namespace, by Python stubs.
  In a worker whose rule is on, a stub holds no reference to the original and ends the worker.
- the audit hook (guards.py): no re-importing or re-running a module the zygote loaded (that
  would bring pristine objects back), no new code objects, no reading the stubs' or hooks' state.
"""
import sys
import types
import warnings

import torch

_FUNCTION, _CODE = types.FunctionType, types.CodeType

# torch.autograd: the engine's entry points and everything built on them (not grad_mode: no_grad
# and enable_grad are ordinary tools)
_AUTOGRAD_MODULES = {
    "torch.autograd": ("backward", "grad"),
    "torch.autograd.graph": ("_engine_run_backward",),
    "torch._tensor": ("Tensor.backward",),
    "torch.autograd.functional": None,
    "torch.autograd.forward_ad": None,
    "torch.autograd.gradcheck": None,
    "torch._functorch.apis": ("grad", "grad_and_value"),
    "torch._functorch.eager_transforms": (
        "vjp", "_vjp_with_argnums", "jacrev", "jacfwd", "jvp", "_jvp_with_argnums", "hessian",
        "grad_impl", "grad_and_value_impl", "linearize", "_autograd_grad"),
}
_CONV_MODULES = {
    "torch._decomp.decompositions": ("im2col", "col2im", "unfold_backward", "_im2col_col2im_indices_along_dim"),
    "numpy._core.numeric": ("correlate", "convolve"),
    "numpy.ma.core": ("correlate", "convolve", "_convolve_or_correlate"),
    "sympy.discrete.convolutions": None,
}
# TorchScript is a second interpreter with its own autodiff (the legacy graph executor attaches
# DifferentiableGraph nodes in C++, beneath the dispatcher's fallthroughs; _jit_differentiate
# differentiates any graph parse_ir builds, and _jit_interpret_graph runs it): where autograd is
# forbidden, none of TorchScript's machinery may run -- every torch._C function named _jit*, and
# every other way in to a graph (parsing, building, compiling, tracing, loading, executors).
_JIT_OTHER_ENTRY_POINTS = ("parse_ir", "Graph", "CompilationUnit", "_create_function_from_graph",
                           "_create_function_from_trace", "_create_function_from_trace_with_dict",
                           "_create_method_from_trace", "_create_module_with_type", "_parse_source_def",
                           "import_ir_module", "import_ir_module_from_buffer", "_import_ir_module_from_package",
                           "_load_jit_module_from_bytes", "_load_jit_module_from_file", "_load_for_lite_interpreter",
                           "_load_for_lite_interpreter_from_buffer", "_set_graph_executor_optimize",
                           "_debug_set_autodiff_subgraph_inlining")
_JIT_ENTRY_POINTS = tuple(sorted({name for name in dir(torch._C) if name.startswith("_jit")  # not its submodules
                                  and type(getattr(torch._C, name)).__name__ != "module"}
                                 | set(_JIT_OTHER_ENTRY_POINTS)))
# Whole libraries that a rule's worker may not run any code of: sympy's polynomial arithmetic and
# mpmath's are convolutions under other names (multiplying two polynomials convolves their
# coefficients), and an honest convolution never needs either. Known by the file a code object
# comes from (student code cannot make code objects: the audit hook refuses).
_LIBRARIES = {"convolution": ("sympy", "mpmath"),
              # a distribution's log_prob is a loss (Categorical(logits=z).log_prob(y) is minus cross entropy)
              "losses": ("torch.distributions",)}
# C functions: a direct call is seen by the profile hook by name; every module-level reference is
# also replaced by a stub (module, attribute, family)
_C_NAMES = {"autograd": ("run_backward", "_grad_increment_nesting", "_jvp_increment_nesting", "_make_dual",
                         "_unpack_dual", "_enter_dual_level", *_JIT_ENTRY_POINTS),
            "convolution": ("correlate", "correlate2")}
_C_STUBS = (("numpy._core._multiarray_umath", "correlate", "convolution"),
            ("numpy._core._multiarray_umath", "correlate2", "convolution"),
            *(("torch._C", name, "autograd") for name in _JIT_ENTRY_POINTS),
            ("torch._C._functorch", "_grad_increment_nesting", "autograd"),
            ("torch._C._functorch", "_jvp_increment_nesting", "autograd"),
            ("torch._C", "_enter_dual_level", "autograd"),
            ("torch._C", "_ImperativeEngine", "autograd"),
            ("torch._C", "_EngineBase", "autograd"))
# forward and loss: torch's own layer and loss functions are the answer itself. Banned at the
# dispatcher (every route to the operator) and in torch's Python references (code identity).
# By what the operator computes, not a list of names: every linear map and every rectifier
# (bilinear, mkldnn's fused _linear_pointwise, leaky_relu with slope 0, elu with alpha 0, ...), every
# loss and every log_softmax (huber_loss * 2 is MSE; a sparse log_softmax is a log_softmax).
_OP_FAMILIES = {"layers": (("linear", "relu", "threshold"), ("elu", "elu_", "celu", "celu_", "selu", "selu_",
                                                             "hardtanh", "hardtanh_",  # hardtanh(x, 0, inf) is relu
                                                             "softplus", "softplus_")),  # with beta 1e30, threshold 0
                "losses": (("loss", "log_softmax", "cross_entropy", "kl_div"), ())}


def _op_family(ns, base):
    if ns not in _NATIVE_NAMESPACES:
        return None
    for family, (parts, exact) in _OP_FAMILIES.items():
        if base in exact or any(part in base for part in parts):
            return family
    return None


_OP_KEYS = ("CPU", "CompositeExplicitAutograd", "CompositeImplicitAutograd", "MkldnnCPU", "QuantizedCPU")
_REF_MODULES = ("torch._refs", "torch._refs.nn.functional", "torch._refs.special", "torch._decomp.decompositions")


def _ref_names(family, module_name):
    """torch's Python references of `family`, by what they compute as its operators are (an
    eleventh outside attacker ran the decomposition _prelu_kernel with weight 0 as relu)."""
    parts, exact = _OP_FAMILIES[family]
    module = sys.modules.get(module_name)
    return tuple(n for n, v in vars(module or {}).items() if callable(v) and not isinstance(v, type)
                 and (any(p in n for p in parts) or n.lstrip("_") in exact))
# torch's native operators, in every namespace and CPU backend (every family above and below);
# its convolutions and fused optimizer kernels are banned on every CPU key, kernel or not
_NATIVE_NAMESPACES = ("aten", "mkldnn", "quantized", "_quantized", "onednn", "mkldnn_prepacked")
_NATIVE_KEYS = ("CPU", "MkldnnCPU", "QuantizedCPU")


def _native_family(full):
    ns, _, name = full.partition("::")
    base = name.split(".")[0]
    if ns not in _NATIVE_NAMESPACES:
        return None
    # stft frames its input at a hop and sums each frame against a window: a strided correlation
    # (a twelfth outside attacker's conv2d, conv_transpose2d and conv2d_backward, full marks each)
    if ("conv" in base and "convert" not in base) or base in ("im2col", "col2im", "unfold_backward", "stft", "istft"):
        return "convolution"
    if base.startswith("_fused_") and any(k in base for k in ("sgd", "adam", "adagrad")):
        return "torch.optim"
    return None


_FORWARD_AD_OPS = ("_make_dual", "_make_dual_copy", "_unpack_dual", "_fw_primal", "_fw_primal_copy")
_FORWARD_AD_KEYS = ("Autograd", "ADInplaceOrView", "CompositeExplicitAutograd", "CompositeImplicitAutograd")


_MET = []  # every function _walk meets while prepare() runs (to find those whose code is banned)


def _gone(family, sizes):
    """{closure size: a code object} for `family`'s banned functions to run instead of their own:
    they raise, and, being new code objects of their own, the profile hook knows them too."""
    message = f"not available while grading: {family} is what this exercise forbids"
    out = {}
    for n in sizes:
        names = [f"v{i}" for i in range(n)]
        source = ("def outer():\n" + "".join(f"    {v} = None\n" for v in names)
                  + "    def gone(*args, **kwargs):\n" + (f"        ({', '.join(names)},)\n" if n else "")
                  + f"        raise RuntimeError({message!r})\n    return gone\n")
        namespace = {}
        exec(compile(source, f"<{family}: gone from this worker>", "exec"), namespace)
        out[n] = namespace["outer"]().__code__
    return out


def _walk(obj, filename, out, seen):
    """Every code object of a function, method or class defined in `filename`, nested ones too."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        for f in (obj.fget, obj.fset, obj.fdel):
            _walk(f, filename, out, seen)
        return
    wrapped = getattr(obj, "__wrapped__", None) if callable(obj) else None
    if wrapped is not None and not isinstance(obj, type):
        _walk(wrapped, filename, out, seen)
    if isinstance(obj, _FUNCTION):
        _MET.append(obj)
        _code(obj.__code__, filename, out)
    elif isinstance(obj, type):
        for value in list(vars(obj).values()):
            _walk(value, filename, out, seen)


def _code(code, filename, out):
    """filename: a file, or a folder (ending in a separator) whose every file counts."""
    if code.co_filename == filename or (filename.endswith(("/", "\\")) and code.co_filename.startswith(filename)):
        out.append(code)
        for const in code.co_consts:
            if isinstance(const, _CODE):
                _code(const, filename, out)


def _family_codes(spec):
    out, seen = [], set()
    for module_name, names in spec.items():
        module = sys.modules.get(module_name)
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        if names is None:
            values = [v for v in vars(module).values() if getattr(v, "__module__", None) == module_name]
        else:
            values = []
            for name in names:
                obj = module
                for part in name.split("."):
                    obj = getattr(obj, part, None)
                values.append(obj)
        for value in values:
            _walk(value, filename, out, seen)
    return out


def _optim_codes():
    """Every code object defined anywhere in torch/optim/, reachable from any of its modules: by the
    folder, not by __module__ (torch.optim's classes say "torch.optim" while their code lives in
    _adafactor.py, say: Adafactor and Muon were missed that way)."""
    import os
    folder = os.path.dirname(sys.modules["torch.optim"].__file__) + os.sep
    out, seen = [], set()
    for name in [m for m in list(sys.modules) if m == "torch.optim" or m.startswith("torch.optim.")]:
        for value in list(vars(sys.modules[name]).values()):
            _walk(value, folder, out, seen)
    return out


def _make_stub(original, name):
    """A stand-in with no closure: what it calls is a keyword default, which only the guards may
    read (guards' audit hook refuses reading a stub's defaults)."""
    def stub(*args, _call=original, **kwargs):
        return _call(*args, **kwargs)
    stub.__name__ = stub.__qualname__ = getattr(original, "__name__", name)
    stub.__doc__ = getattr(original, "__doc__", None)
    return stub


def _grad_switch(mode, *, _call=None, _ban=None):
    """torch._C._set_grad_enabled where autograd is forbidden: grad mode is off in such a worker (every
    C++ path that attaches a graph node checks it: the dispatcher's, custom Functions', TorchScript's),
    and may be switched off again (torch.no_grad() does) but never on."""
    if _ban is not None and mode is not False:
        _ban()
    return _call(False if _ban is not None else mode)


def _make_ban(family, forbidden):
    """What an armed stub calls. Reachable from nowhere (a stub's defaults cannot be read), so its
    closure is safe; it ignores its arguments, which the student chose."""
    def ban(*args, **kwargs):
        forbidden(family)
    return ban


class _Engine:
    """Stands in for torch.autograd.Variable._execution_engine (torch's own code calls it)."""
    __slots__ = ()

    def run_backward(self, *args, _call=None, **kwargs):
        return _call(*args, **kwargs)

    def queue_callback(self, *args, _call=None, **kwargs):
        return _call(*args, **kwargs)

    def is_checkpoint_valid(self, *args, _call=None, **kwargs):
        return _call(*args, **kwargs)


def _no_cuda(*args, **kwargs):
    raise RuntimeError("CUDA is not available while grading: the grader runs every exercise on the CPU")


def _replace_everywhere(replacements):
    """In every loaded module's namespace, replace each object whose id is a key."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if type(namespace) is not dict:
            continue
        for key, value in list(namespace.items()):
            new = replacements.get(id(value))
            if new is not None:
                namespace[key] = new


_KEEP = {}  # family -> its banned code objects (kept alive in the zygote: ids stay valid)


class Prepared:
    """What the zygote works out once, for every worker it forks (plain data, read-only).
    forward_ad_ops holds every (operator, key) banned where autograd is: forward mode's, and
    the derivative formulas'."""

    __slots__ = ("codes", "c_names", "stubs", "autograd_ops", "forward_ad_ops", "guard_ids", "files", "functions",
                 "weak", "gone")

    def __init__(self, codes, c_names, stubs, autograd_ops, forward_ad_ops, guard_ids, files, functions=None,
                 weak=None, gone=None):
        self.codes, self.c_names, self.stubs = codes, c_names, stubs
        # family -> the functions whose code is banned, weak references to those codes, and the
        # code each such function runs instead in a worker under the rule (arm)
        self.functions, self.weak, self.gone = functions or {}, weak or {}, gone or {}
        self.autograd_ops, self.forward_ad_ops, self.guard_ids = autograd_ops, forward_ad_ops, guard_ids
        self.files = files  # the source files of every module loaded in the zygote


def prepare():  # noqa: C901  (one pass over torch's operators, each rule's case in turn)
    """In the zygote, after torch and the modules the rules name are imported: collect the banned
    code objects, put the stubs in place, list the operators that have autograd kernels."""
    for name in ("numpy.ma", "sympy.discrete.convolutions", "torch._decomp.decompositions",
                 "torch.autograd.functional", "torch.autograd.forward_ad", "torch.autograd.gradcheck",
                 "torch._functorch.eager_transforms", "torch._functorch.apis"):
        try:
            __import__(name)
        except ImportError:
            pass
    decompositions = sys.modules.get("torch._decomp.decompositions")
    derivatives = tuple(name for name in dir(decompositions) if name.endswith(("_backward", "_backward_data"))
                        and "conv" not in name and callable(getattr(decompositions, name, None)))
    for name in _REF_MODULES:
        try:
            __import__(name)
        except ImportError:
            pass
    refs = {family: tuple(_family_codes({m: _ref_names(family, m) for m in _REF_MODULES})) for family in _OP_FAMILIES}
    # and torch.nn's own losses written in Python from allowed operators (gaussian_nll_loss with a
    # constant variance is MSE), by what they are: every loss function and loss module of torch.nn
    functional = sys.modules["torch.nn.functional"]
    losses = tuple(n for n in dir(functional) if "loss" in n or n in ("cross_entropy", "kl_div", "binary_cross_entropy",
                                                                     "binary_cross_entropy_with_logits", "log_softmax"))
    refs["losses"] += tuple(_family_codes({"torch.nn.functional": losses, "torch.nn.modules.loss": None}))
    codes = {**refs,
             "autograd": tuple(_family_codes({**_AUTOGRAD_MODULES, "torch._decomp.decompositions": derivatives})),
             # and torch's other zero_grad, nn.Module's (a bare Module over the parameters is the same code)
             "torch.optim": tuple(_optim_codes()) + tuple(_family_codes({"torch.nn.modules.module": ("Module.zero_grad",)})),
             "convolution": tuple(_family_codes(_CONV_MODULES))}
    global _KEEP  # the ids below stay valid only while the code objects live
    _KEEP = dict(codes)
    import weakref
    ids = {family: {id(c) for c in cs} for family, cs in codes.items()}
    functions = {family: tuple({id(f): f for f in _MET if id(f.__code__) in ids[family]}.values()) for family in codes}
    _MET.clear()
    weak = {family: tuple(weakref.ref(c) for c in cs) for family, cs in codes.items()}
    gone = {family: _gone(family, {len(f.__closure__ or ()) for f in functions[family]}) for family in codes}
    stubs, replacements = [], {}
    for module_name, attribute, family in _C_STUBS:
        original = getattr(sys.modules.get(module_name), attribute, None)
        if original is None or id(original) in replacements:
            continue
        stub = _make_stub(original, attribute)
        replacements[id(original)] = stub
        stubs.append((family, stub))
    switch = torch._C._set_grad_enabled
    _grad_switch.__kwdefaults__ = {"_call": switch, "_ban": None}
    replacements[id(switch)] = _grad_switch
    engine = torch.autograd.Variable._execution_engine
    for method in ("run_backward", "queue_callback", "is_checkpoint_valid"):
        function = getattr(_Engine, method)
        function.__kwdefaults__ = {"_call": getattr(engine, method)}
        stubs.append(("autograd", function))
    torch.autograd.Variable._execution_engine = _Engine()
    cuda_init = getattr(torch._C, "_cuda_init", None)
    if cuda_init is not None:
        replacements[id(cuda_init)] = _no_cuda
    _replace_everywhere(replacements)
    del engine, replacements
    autograd_ops, forward_ad_ops, derivative_ops = [], [], []
    op_bans = {family: [] for family in _OP_FAMILIES}
    for full in torch._C._dispatch_get_all_op_names():
        ns, _, name = full.partition("::")
        family = _op_family(ns, name.split(".")[0])
        if family is not None:
            op_bans[family] += [(ns, name, key) for key in _OP_KEYS
                                if torch._C._dispatch_has_kernel_for_dispatch_key(full, key)]
        native = _native_family(full)
        if native is not None:  # on every CPU key, whether or not it has a kernel there yet
            ns, name = full.split("::", 1)
            op_bans.setdefault(native, []).extend((ns, name, key) for key in _NATIVE_KEYS)
        overload = full.partition(".")[2]
        if full.startswith("aten::") and full[6:].split(".")[0] in _FORWARD_AD_OPS:
            forward_ad_ops += [(full[6:], key) for key in _FORWARD_AD_KEYS
                               if torch._C._dispatch_has_kernel_for_dispatch_key(full, key)]
            continue  # banned instead of falling through
        base = full[6:].split(".")[0] if full.startswith("aten::") else ""
        if base.endswith(("_backward", "_backward_data")) and "conv" not in base:
            # autograd's derivative formulas, callable by name (torch.ops.aten.threshold_backward):
            # banned where autograd is (the convolution ones belong to the convolution rule)
            derivative_ops += [(full[6:], key) for key in ("CPU", "CompositeExplicitAutograd",
                                                           "CompositeImplicitAutograd")
                               if torch._C._dispatch_has_kernel_for_dispatch_key(full, key)]
        if overload == "out" or overload.endswith("_out"):
            continue  # out= variants never record a graph
        for key in ("Autograd", "AutogradNestedTensor"):
            if torch._C._dispatch_has_kernel_for_dispatch_key(full, key):
                autograd_ops.append((full, key))
    guard_ids = frozenset(id(f) for f in (_make_stub, _make_ban, _no_cuda, _profile, arm, prepare, _grad_switch)) \
        | frozenset(id(stub) for _, stub in stubs)
    files = frozenset(f for m in list(sys.modules.values()) for f in (getattr(m, "__file__", None),)
                      if type(f) is str)
    codes = {family: {id(code): family for code in c} for family, c in codes.items()}
    global OP_BANS
    OP_BANS = {family: tuple(bans) for family, bans in op_bans.items()}
    return Prepared(codes, _C_NAMES, tuple(stubs), tuple(autograd_ops), tuple(forward_ad_ops) + tuple(derivative_ops),
                    guard_ids, files, functions, weak, gone)


OP_BANS = {}  # family -> ((namespace, operator, dispatch key), ...): set once in the zygote by prepare()



def _leak(obj):
    """Keep obj alive for the life of the process, with no Python reference to it anywhere."""
    import ctypes
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


def arm(prepared, forbid, forbidden):
    """In a fresh worker, before any student code: switch on the rules of `forbid`.

    Returns the profile hook's tables: {id(code): family} and {C function name: family}."""
    if "autograd" in forbid:
        fallthrough = torch.library.fallthrough_kernel
        libraries = {}
        for full, key in prepared.autograd_ops:
            ns, name = full.split("::", 1)
            lib = libraries.get(ns) or libraries.setdefault(ns, torch._C._dispatch_library("IMPL", ns, ""))
            lib.impl(name, key, fallthrough, False)
        lib = libraries.get("aten") or libraries.setdefault("aten", torch._C._dispatch_library("IMPL", "aten", ""))
        ban = _make_ban("autograd", forbidden)
        for name, key in prepared.forward_ad_ops:
            lib.impl(name, key, ban, False)
        for lib in libraries.values():
            _leak(lib)
        del libraries, lib, ban
    for family, bans in OP_BANS.items():
        if family not in forbid:
            continue
        libraries = {}
        # the ban names the operator for torch's native ones (the message says which was called)
        named = family in ("convolution", "torch.optim")
        bans_by_op = {}
        for ns, name, key in bans:
            lib = libraries.get(ns) or libraries.setdefault(ns, torch._C._dispatch_library("IMPL", ns, ""))
            event = f"{ns}::{name.split('.')[0]}" if named else family
            ban = bans_by_op.get(event) or bans_by_op.setdefault(event, _make_ban(event, forbidden))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "overriding a previously registered kernel": yes
                    lib.impl(name, key, ban, False)
            except RuntimeError:
                pass  # this operator takes no kernel for this key
        for lib in libraries.values():
            _leak(lib)
        del libraries, bans_by_op
    for family, stub in prepared.stubs:
        if family in forbid:
            stub.__kwdefaults__ = {"_call": _make_ban(family, forbidden)}
    if "autograd" in forbid:
        _grad_switch(False)  # grad mode off, then the switch only turns it off
        _grad_switch.__kwdefaults__ = {**_grad_switch.__kwdefaults__, "_ban": _make_ban("autograd", forbidden)}
    # The banned Python code itself leaves the worker: each banned function runs a code of its own
    # instead, and the originals are let go, so that nothing -- not even a write to this process's
    # memory -- can run torch.optim's SGD, say, here. What something else still holds stays banned.
    for family in forbid:
        for function in prepared.functions.get(family, ()):
            function.__code__ = prepared.gone[family][len(function.__closure__ or ())]
        _KEEP.pop(family, None)
    survivors = tuple(c for family in forbid for c in (r() for r in prepared.weak.get(family, ())) if c is not None)
    # tuples and frozensets only: a mapping would hand its dict to whatever it is compared with
    codes = tuple((family, frozenset(map(id, prepared.gone.get(family, {}).values()))
                   | frozenset(id(c) for c in survivors if id(c) in prepared.codes.get(family, {})))
                  for family in sorted(forbid))
    c_names = tuple((family, frozenset(prepared.c_names.get(family, ()))) for family in sorted(forbid))
    prefixes = tuple((path, family) for family in forbid for path in _library_paths(family))
    return codes, c_names, prefixes, survivors


def _library_paths(family):
    import os
    paths = []
    for name in _LIBRARIES.get(family, ()):
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str):
            paths.append(os.path.dirname(file) + os.sep)
    return paths


def _profile(s, frame, event, arg):
    """The profile hook, bound by guards.harden to (banned code ids, banned C function names,
    forbidden, id, getattr, prefixes, str.startswith, ((family, code ids), ...), ((family, names),
    ...), the banned originals something still holds (kept alive so their ids stay theirs)):
    immutable all through, reachable as it is through sys.getprofile(). It runs with tracing
    off, so it calls no method of student objects (a code object's file name may be a str
    subclass: str.startswith reads it as a plain str)."""
    if event == "call":
        code = s[3](frame.f_code)
        if code in s[0]:
            for family, ids in s[7]:
                if code in ids:
                    s[2](family)
        for prefix, family in s[5]:
            if s[6](frame.f_code.co_filename, prefix):
                s[2](family)
    elif event == "c_call":
        name = s[4](arg, "__name__", None)
        if name in s[1]:
            for family, names in s[8]:
                if name in names:
                    s[2](family)


# Where a family's forbidden Python code lives on disk: hidden from a worker under that rule
# (jail.lock), so its source or bytecode cannot be read back and compiled under another name.
_SOURCES = {"layers": ("torch._refs",),
            # torch.nn's losses in Python, and torch.distributions' log_prob (_LIBRARIES): an eleventh
            # outside attacker compiled gaussian_nll_loss again from its source, under another name
            "losses": ("torch._refs", "torch.nn.functional", "torch.nn.modules.loss", "torch.distributions"),
            "torch.optim": ("torch.optim",),
            "convolution": ("torch._decomp", "sympy", "mpmath"),  # im2col, col2im, unfold; polynomial products
            "autograd": ("torch._decomp",)}  # the derivative formulas in Python (threshold_backward, ...)


def _import_all(package):
    import pkgutil
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            __import__(info.name)
        except Exception:  # a module that cannot load here (an optional dependency): not needed
            pass


def sources():
    """In the zygote: {family: paths to hide}; a package is hidden whole, with its __pycache__."""
    import importlib.util
    import os
    found = {}
    for family, names in _SOURCES.items():
        paths = []
        for name in names:
            module = sys.modules.get(name)
            file = getattr(module, "__file__", None)
            if not isinstance(file, str):
                continue
            if hasattr(module, "__path__"):
                if not any(name in libraries for libraries in _LIBRARIES.values()):  # none of a library's runs
                    _import_all(module)  # a hidden package's modules cannot be imported later: now, then
                paths.append(os.path.dirname(file))
            else:
                paths += [file, importlib.util.cache_from_source(file)]
        found[family] = tuple(p for p in paths if os.path.exists(p))
    return found

