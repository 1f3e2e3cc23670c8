"""The exercises' rules hold however the forbidden tool is reached (kit/worker/rules.py, guards.py).

Each route computes the RIGHT answer with the forbidden tool: if it went unnoticed, the test
would earn its points. The grader must fail it, and say which rule was broken (or, where the
route is stopped before the tool runs, what stopped it).
"""
import pytest

from kit_support import SOLUTIONS

from kit import messages as M


def exercise(report, name):
    return next(e for e in report.exercises if e.name == name)


def full(report, name):
    ex = exercise(report, name)
    return ex.score == ex.max_score


def indent(code, by="    "):
    return "".join(by + line + "\n" for line in code.splitlines())


# -- convolution: torch's operators, at the dispatcher, wherever the manifest forbids them --------

CONV_ROUTES = {
    "F.conv2d": "torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups)",
    "torch.conv2d": "torch.conv2d(input, weight, bias, stride, padding, dilation, groups)",
    "nn.Conv2d": "torch.nn.Conv2d(2, 2, 2)(torch.ones(1, 2, 3, 3))",
    "alias taken at import": "_alias(input, weight, bias, stride, padding, dilation, groups)",
    "computed name": "getattr(torch.nn.functional, 'con' + 'v2d')(input, weight, bias, stride, padding, dilation, groups)",
    "torch.ops.aten.convolution": "torch.ops.aten.convolution(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), None,"
                                  " [1, 1], [0, 0], [1, 1], False, [0, 0], 1)",
    "aten._convolution": "torch.ops.aten._convolution(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), None, [1, 1],"
                         " [0, 0], [1, 1], False, [0, 0], 1, False, False, False, False)",
    # a strided, dilated correlation: frequency 0 of each frame is the frame summed against the window
    "torch.stft": "torch.stft(torch.ones(1, 8), n_fft=4, hop_length=2, window=torch.ones(4), center=False, "
                  "return_complex=True)",
    "mkldnn tensors": "torch.ops.aten.mkldnn_convolution(torch.ones(1, 1, 3, 3).to_mkldnn(),"
                      " torch.ones(1, 1, 2, 2).to_mkldnn(), None, [0, 0], [1, 1], [1, 1], 1)",
    "F.unfold": "torch.nn.functional.unfold(torch.ones(1, 1, 3, 3), 2)",
    "F.fold": "torch.nn.functional.fold(torch.ones(1, 4, 4), (3, 3), 2)",
    "im2col by its C name": "torch._C._nn.im2col(torch.ones(1, 1, 3, 3), [2, 2], [1, 1], [0, 0], [1, 1])",
    "F.conv_transpose2d": "torch.nn.functional.conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))",
    "conv1d on a reshaped input": "torch.nn.functional.conv1d(torch.ones(1, 1, 5), torch.ones(1, 1, 2))",
    "the conv gradient helper": "torch.nn.grad.conv2d_input((1, 1, 3, 3), torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))",
    "Tensor.unfold's gradient (a fold)": "torch.ops.aten.unfold_backward(torch.ones(1, 2, 2), [1, 3], 1, 2, 1)",
}


@pytest.mark.parametrize("route", list(CONV_ROUTES))
def test_convolution_is_caught_however_reached_even_if_the_error_is_swallowed(grade, submission, route):
    source = ("_alias = torch.nn.functional.conv2d\n_reference_conv2d = conv2d\n"
              "def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):\n"
              f"    try:\n        {CONV_ROUTES[route]}\n    except BaseException:\n        pass\n"
              "    return _reference_conv2d(input, weight, bias, stride, padding, dilation, groups)")
    report = grade(submission({"conv2d": source}), exercises=["conv2d"])
    conv = exercise(report, "conv2d")
    assert conv.score == 0
    assert "a built-in convolution" in conv.first_failure.message


# -- convolution: other libraries and torch's Python decompositions --------------------------------

# conv2d from a 1-D "valid" cross-correlation `_corr(a, v)` of float64 numpy vectors: exact, all cases
CONV2D_FROM_CORR1D = '''
import numpy as _np

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    O, Cg, KH, KW = weight.shape
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        th, tw = dh * (KH - 1), dw * (KW - 1)
        pads = (tw // 2, tw - tw // 2, th // 2, th - th // 2)
    else:
        ph, pw = pair(padding)
        pads = (pw, pw, ph, ph)
    x = torch.nn.functional.pad(x, pads).double().numpy()
    w = weight.double().numpy()
    N, C, H, W = x.shape
    HO, WO = (H - dh * (KH - 1) - 1) // sh + 1, (W - dw * (KW - 1) - 1) // sw + 1
    out = _np.zeros((N, O, HO, WO))
    for n in range(N):
        for o in range(O):
            g = o // (O // groups)
            for c in range(Cg):
                for u in range(KH):
                    k = _np.zeros(dw * (KW - 1) + 1)
                    k[::dw] = w[o, c, u]
                    for i in range(HO):
                        row = x[n, g * Cg + c, i * sh + u * dh]
                        out[n, o, i] += _np.asarray(_corr(row, k), dtype=float)[::sw][:WO]
    if bias is not None:
        out += bias.double().numpy()[None, :, None, None]
    out = torch.from_numpy(out).to(input.dtype)
    return out[0] if unbatched else out
'''
LIBRARY_CONV_ROUTES = {
    "numpy.correlate": "_corr = lambda a, v: _np.correlate(a, v, 'valid')",
    "numpy.convolve, kernel flipped": "_corr = lambda a, v: _np.convolve(a, v[::-1], 'valid')",
    "numpy's C core": "_corr = lambda a, v: _np._core.multiarray.correlate2(a, v, 0)",
    "a partial of numpy's C core": "import functools\n_core = functools.partial(_np._core._multiarray_umath.correlate2)\n"
                                   "_corr = lambda a, v: _core(a, v, 0)",
    "map over numpy.correlate": "_corr = lambda a, v: next(map(_np.correlate, [a], [v]))",
    "numpy.ma.correlate": "import numpy.ma\n_corr = lambda a, v: _np.ma.getdata(_np.ma.correlate(a, v, 'valid'))",
    "numpy.polymul": "_corr = lambda a, v: _np.polymul(a, v[::-1])[len(v) - 1:len(a)]",
    "sympy's discrete convolution": "from sympy.discrete.convolutions import convolution as _sc\n"
                                    "_corr = lambda a, v: [float(t) for t in _sc(list(a), list(v[::-1]))][len(v) - 1:len(a)]",
    # multiplying polynomials convolves their coefficients: any of sympy's or mpmath's code
    "sympy's polynomial product": "from sympy.polys.densearith import dup_mul as _mul\n"
                                  "class _K:\n    zero = 0.0\n    is_Exact = False\n"
                                  "_corr = lambda a, v: [float(t) for t in _mul(list(a), list(v), _K)][len(v) - 1:len(a)]",
}


@pytest.mark.parametrize("route", list(LIBRARY_CONV_ROUTES))
def test_library_convolutions_are_caught_in_conv2d(grade, submission, route):
    report = grade(submission({"conv2d": CONV2D_FROM_CORR1D + LIBRARY_CONV_ROUTES[route]}),
                   exercises=["conv2d", "forward"])
    conv = exercise(report, "conv2d")
    assert conv.score == 0
    assert conv.first_failure.message.startswith(M.FORBIDDEN["convolution"].format(event=M.LIBRARY_CONVOLUTION)), \
        conv.first_failure.message
    assert full(report, "forward")


CONV2D_FROM_IM2COL = '''
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    pair = lambda v: list((v, v) if isinstance(v, int) else v)
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    O, Cg, KH, KW = weight.shape
    (dh, dw) = pair(dilation)
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        th, tw = dh * (KH - 1), dw * (KW - 1)
        pads = (tw // 2, tw - tw // 2, th // 2, th - th // 2)
    else:
        ph, pw = pair(padding)
        pads = (pw, pw, ph, ph)
    x = torch.nn.functional.pad(x, pads)
    N, C, H, W = x.shape
    (sh, sw) = pair(stride)
    HO, WO = (H - dh * (KH - 1) - 1) // sh + 1, (W - dw * (KW - 1) - 1) // sw + 1
    cols = _im2col(x, [KH, KW], [dh, dw], [0, 0], [sh, sw]).reshape(N, groups, Cg * KH * KW, HO * WO)
    out = torch.einsum("ngkl,gok->ngol", cols, weight.reshape(groups, O // groups, Cg * KH * KW)).reshape(N, O, HO, WO)
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out[0] if unbatched else out
'''
CONV_TRANSPOSE2D_FROM_COL2IM = '''
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    pair = lambda v: list((v, v) if isinstance(v, int) else v)
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(pair, (stride, padding, output_padding, dilation))
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    N, C, H, W = x.shape
    _, Og, KH, KW = weight.shape
    HO = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oh + 1
    WO = (W - 1) * sw - 2 * pw + dw * (KW - 1) + ow + 1
    cols = torch.einsum("ngcl,gcok->ngokl", x.reshape(N, groups, C // groups, H * W),
                        weight.reshape(groups, C // groups, Og, KH * KW)).reshape(N, groups * Og * KH * KW, H * W)
    out = _col2im(cols, [HO, WO], [KH, KW], [dh, dw], [ph, pw], [sh, sw])
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out[0] if unbatched else out
'''
DECOMPOSITION_ROUTES = {
    "torch._decomp's im2col": ("conv2d", "from torch._decomp.decompositions import im2col as _im2col\n"
                               + CONV2D_FROM_IM2COL),
    "the decomposition table": ("conv2d", "import torch._decomp\n"
                                "_im2col = torch._decomp.decomposition_table[torch.ops.aten.im2col.default]\n"
                                + CONV2D_FROM_IM2COL),
    "torch._decomp's col2im": ("conv_transpose2d", "from torch._decomp.decompositions import col2im as _col2im\n"
                               + CONV_TRANSPOSE2D_FROM_COL2IM),
    "core_aten_decompositions' col2im": ("conv_transpose2d", "import torch._decomp\n_col2im = torch._decomp."
                                         "core_aten_decompositions()[torch.ops.aten.col2im.default]\n"
                                         + CONV_TRANSPOSE2D_FROM_COL2IM),
}


@pytest.mark.parametrize("route", list(DECOMPOSITION_ROUTES))
def test_torch_decompositions_are_caught(grade, submission, route):
    module, source = DECOMPOSITION_ROUTES[route]
    report = grade(submission({module: source}), exercises=[module])
    ex = exercise(report, module)
    assert ex.score == 0
    assert "a built-in convolution" in ex.first_failure.message, ex.first_failure.message


def test_the_gradient_of_tensor_unfold_is_a_fold(grade, submission):
    """conv_transpose2d is the gradient of conv2d with respect to its input: with autograd
    (allowed in this exercise) through an honest Tensor.unfold conv2d, that gradient is
    unfold_backward, a built-in fold."""
    from alternatives import ALTERNATIVES
    unfold_conv2d = next(a for a in ALTERNATIVES if a.name == "conv2d_tensor_unfold").source
    source = unfold_conv2d.replace("def conv2d(", "def _conv2d(") + '''
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(pair, (stride, padding, output_padding, dilation))
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    N, C, H, W = x.shape
    _, Og, KH, KW = weight.shape
    HO = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oh + 1
    WO = (W - 1) * sw - 2 * pw + dw * (KW - 1) + ow + 1
    z = torch.zeros(N, Og * groups, HO, WO, dtype=input.dtype, requires_grad=True)
    y = _conv2d(z, weight, None, stride, padding, dilation, groups)
    out, = torch.autograd.grad((y * x).sum(), z)
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out[0] if unbatched else out
'''
    report = grade(submission({"conv_transpose2d": source}), exercises=["conv_transpose2d"])
    ex = exercise(report, "conv_transpose2d")
    assert ex.score == 0
    assert ex.first_failure.message.startswith(M.FORBIDDEN["convolution"].format(event="aten::unfold_backward")), \
        ex.first_failure.message


# -- autograd -------------------------------------------------------------------------------------------

AUTOGRAD_ROUTES = {
    "Tensor.backward": "torch.relu(x).backward(grad_output)\nreturn x.grad",
    "torch.autograd.grad": "return torch.autograd.grad(torch.relu(x), x, grad_output)[0]",
    "torch.autograd.backward": "torch.autograd.backward([torch.relu(x)], [grad_output])\nreturn x.grad",
    "torch.func.vjp": "_, pullback = torch.func.vjp(torch.relu, x)\nreturn pullback(grad_output)[0]",
    "torch.func.grad under vmap": "g = torch.func.vmap(torch.func.grad(torch.relu))(x.detach().flatten())\n"
                                  "return g.view_as(x) * grad_output",
    "torch.func.jacrev": "return torch.func.jacrev(torch.relu)(x.detach().flatten()).diagonal().view_as(x) * grad_output",
    "functorch.grad": "import functorch\n"
                      "return functorch.vmap(functorch.grad(torch.relu))(x.detach().flatten()).view_as(x) * grad_output",
    "torch.autograd.functional.vjp": "return torch.autograd.functional.vjp(torch.relu, x, grad_output)[1]",
    "torch.autograd.functional.jacobian": "return torch.autograd.functional.jacobian(torch.relu, x.detach().flatten())"
                                          ".diagonal().view_as(x) * grad_output",
    "after trying to switch the watch off": "import sys\ntry:\n    sys.setprofile(None)\nexcept PermissionError:\n"
                                            "    pass\ntorch.relu(x).backward(grad_output)\nreturn x.grad",
    "functools.partial of the engine": "import functools\ny = torch.relu(x)\n"
                                       "run = functools.partial(torch.autograd.Variable._execution_engine.run_backward)\n"
                                       "return run((y,), (grad_output,), False, False, (x,), allow_unreachable=True,"
                                       " accumulate_grad=False)[0]",
    "a fresh engine from torch._C": "e = torch._C._ImperativeEngine()\nreturn e.run_backward((torch.relu(x),), (grad_output,),"
                                    " False, False, (x,), allow_unreachable=True, accumulate_grad=False)[0]",
    "map over torch.autograd.grad": "return next(map(torch.autograd.grad, [torch.relu(x)], [x], [grad_output]))[0]",
    "operator.call": "import operator\nreturn operator.call(torch.autograd.grad, torch.relu(x), x, grad_output)[0]",
    "inside __del__": "out = []\nclass D:\n    def __del__(self):\n"
                      "        out.append(torch.autograd.grad(torch.relu(x), x, grad_output)[0])\nD()\nreturn out[0]",
    "forward mode (dual tensors)": "import torch.autograd.forward_ad as fwAD\nwith fwAD.dual_level():\n"
                                   "    d = fwAD.make_dual(x.detach(), grad_output)\n"
                                   "    return fwAD.unpack_dual(torch.relu(d)).tangent",
    # TorchScript's own autodiff: the legacy graph executor attaches a DifferentiableGraph node in C++
    "TorchScript's legacy executor": "torch._C._jit_set_profiling_executor(False)\n"
                                     "f = torch.jit.CompilationUnit('def f(a):\\n    return torch.relu(a * 1.0)\\n').f\n"
                                     "for _ in range(3):\n    y = f(x)\nreturn y.grad_fn(grad_output)",
    "TorchScript compiled, by its class's own name": "import functools\n"
                                     "cu = functools.partial(torch._C.CompilationUnit)('def f(a):\\n    return a\\n')\n"
                                     "return cu.f(grad_output)",
    "TorchScript from bytes": "import io\nreturn torch.jit.load(io.BytesIO(b'PK'))",
    # an outside attacker's route: differentiate a parsed graph, then run it in the JIT interpreter
    "TorchScript's autodiff on a parsed graph": (
        "g = torch._C.parse_ir('graph(%a : Tensor):\\n  %b : Tensor = aten::relu(%a)\\n  return (%b)')\n"
        "gradient = torch._C._jit_differentiate(g)\nreturn torch._C._jit_interpret_graph(gradient.df, (grad_output,))"),
    "a TorchScript graph built by hand": "g = torch._C.Graph()\nreturn grad_output * (x > 0)",
    "grad mode switched back on": "torch._C._set_grad_enabled(True)\ntorch.relu(x).backward(grad_output)\nreturn x.grad",
    "torch.enable_grad()": "with torch.enable_grad():\n    y = torch.relu(x)\nreturn grad_output * (x > 0)",
    "forward mode by its C entry point": "import functools\nlevel = functools.partial(torch._C._enter_dual_level)()\n"
                                         "d = torch._VF._make_dual(x.detach(), grad_output, level=level)\n"
                                         "return torch._VF._unpack_dual(torch.relu(d), level=level)[1]",
}


@pytest.mark.parametrize("route", list(AUTOGRAD_ROUTES))
def test_autograd_is_caught_in_backward(grade, submission, route):
    source = ("def relu_backward(grad_output, x):\n    x = x.detach().requires_grad_()\n"
              + indent(AUTOGRAD_ROUTES[route]))
    report = grade(submission({"backward": source}), exercises=["backward", "training_loop"])
    test = exercise(report, "backward").tests[1]
    assert test.status == "failed"
    assert test.message.startswith(M.FORBIDDEN["autograd"]), test.message
    assert full(report, "training_loop"), exercise(report, "training_loop").first_failure.message  # stand-ins use autograd


# Routes stopped before the tool can run: by the sandbox, by the audit hook, or because in this
# worker no operation records a graph at all. Each loses its points, with what stopped it.
STOPPED_AUTOGRAD_ROUTES = {
    "a thread": ("import threading\nout = []\n"
                 "t = threading.Thread(target=lambda: out.append(torch.autograd.grad(torch.relu(x), x, grad_output)[0]))\n"
                 "t.start()\nt.join()\nreturn out[0]", "can't start new thread"),
    "a graph node called directly": ("return torch.relu(x).grad_fn(grad_output)", "'NoneType' object is not callable"),
    "a graph node by next_functions": ("y = (torch.relu(x) * 1)\nreturn y.grad_fn.next_functions[0][0](grad_output)",
                                       "has no attribute 'next_functions'"),
    "re-importing torch.autograd": ("import sys\ndel sys.modules['torch.autograd']\nimport torch.autograd as A\n"
                                    "return A.grad(torch.relu(x), x, grad_output)[0]", "importing torch.autograd again"),
    "a copy of torch.autograd.grad's code": ("import types\ng = torch.autograd.grad\n"
                                             "g = types.FunctionType(g.__code__.replace(co_name='g'), g.__globals__, 'g',"
                                             " g.__defaults__)\nreturn g(torch.relu(x), x, grad_output)[0]",
                                             "making code objects"),
    "running torch.autograd's compiled module again": (
        "import marshal, os, sys, torch.autograd as A\n"
        "tag = sys.implementation.cache_tag\n"
        "pyc = os.path.join(os.path.dirname(A.__file__), '__pycache__', f'__init__.{tag}.pyc')\n"
        "code = marshal.loads(open(pyc, 'rb').read()[16:])\n"
        "ns = {'__name__': 'torch.autograd', '__package__': 'torch.autograd', '__path__': A.__path__}\nexec(code, ns)\n"
        "return ns['grad'](torch.relu(x), x, grad_output)[0]", "making code objects (marshal.loads)"),
}


@pytest.mark.parametrize("route", list(STOPPED_AUTOGRAD_ROUTES))
def test_autograd_routes_that_cannot_start(grade, submission, route):
    code, stopped_by = STOPPED_AUTOGRAD_ROUTES[route]
    source = "def relu_backward(grad_output, x):\n    x = x.detach().requires_grad_()\n" + indent(code)
    report = grade(submission({"backward": source}), exercises=["backward"])
    test = exercise(report, "backward").tests[1]
    assert test.status == "failed" and stopped_by in test.message, test.message


def test_grad_mode_is_off_where_autograd_is_forbidden_and_no_grad_still_works(grade, submission):
    """Every C++ path that attaches a graph node (the dispatcher's, custom Functions', TorchScript's)
    checks grad mode: off in these workers, and only switchable off (torch.no_grad() is honest)."""
    source = ("_reference_relu_backward = relu_backward\ndef relu_backward(grad_output, x):\n"
              "    assert not torch.is_grad_enabled()\n    with torch.no_grad():\n        pass\n"
              "    assert not torch.is_grad_enabled()\n    return _reference_relu_backward(grad_output, x)")
    report = grade(submission({"backward": source}), exercises=["backward"])
    assert full(report, "backward"), exercise(report, "backward").first_failure.message


def test_autograd_is_caught_in_conv2d_backward(grade, submission):
    from alternatives import ALTERNATIVES
    unfold_conv2d = next(a for a in ALTERNATIVES if a.name == "conv2d_tensor_unfold").source
    source = unfold_conv2d.replace("def conv2d(", "def _conv2d(") + '''
def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    x, w = input.detach().requires_grad_(), weight.detach().requires_grad_()
    gx, gw = torch.autograd.grad(_conv2d(x, w, None, stride, padding, dilation, groups), (x, w), grad_output)
    return gx, gw, grad_output.sum((0, 2, 3))
'''
    report = grade(submission({"conv2d_backward": source}), exercises=["conv2d_backward"])
    ex = exercise(report, "conv2d_backward")
    assert ex.score == 0 and ex.first_failure.message.startswith(M.FORBIDDEN["autograd"]), ex.first_failure.message


# -- torch.optim ----------------------------------------------------------------------------------------

OPTIM_ROUTES = {
    "torch.optim.SGD": "torch.optim.SGD(live, lr=self.lr).step()",
    "torch.optim.Adam's module": "torch.optim.Adam(live, lr=self.lr)\ntorch.optim.SGD(live, lr=self.lr).step()",
    "the functional form": "torch.optim._functional.sgd(live, [p.grad for p in live], [None] * len(live),"
                           " weight_decay=0, momentum=0, lr=self.lr, dampening=0, nesterov=False, maximize=False)",
    "the fused kernel": "torch._fused_sgd_(live, [p.grad for p in live], [], weight_decay=0.0, momentum=0.0,"
                        " lr=self.lr, dampening=0.0, nesterov=False, maximize=False, is_first_step=False)",
    "functools.partial of SGD.step": "import functools\nopt = functools.partial(torch.optim.SGD, lr=self.lr)(live)\n"
                                     "functools.partial(torch.optim.SGD.step, opt)()",
    "map over SGD.step": "list(map(torch.optim.SGD.step, [torch.optim.SGD(live, lr=self.lr)]))",
    "the foreach functional form": "import torch.optim.sgd as S\nS._multi_tensor_sgd(live, [p.grad for p in live],"
                                   " [None] * len(live), None, None, weight_decay=0, momentum=0, lr=self.lr, dampening=0,"
                                   " nesterov=False, maximize=False, has_sparse_grad=False)",
}


@pytest.mark.parametrize("route", list(OPTIM_ROUTES))
def test_torch_optim_is_caught_in_sgd(grade, submission, route):
    source = ("def _step(self):\n    live = [p for p in self.params if p.grad is not None]\n"
              + indent(OPTIM_ROUTES[route]) + "SGD.step = _step")
    report = grade(submission({"optim": source}), exercises=["sgd"])
    plain = exercise(report, "sgd").tests[0]
    assert plain.status == "failed" and plain.message.startswith(M.FORBIDDEN["torch.optim"]), plain.message


def test_nn_modules_zero_grad_is_torchs_zero_grad(grade, submission):
    source = '''
def zero_grad(params, set_to_none=True):
    m = torch.nn.Module()
    m._parameters = {str(k): p for k, p in enumerate(params)}
    m.zero_grad(set_to_none)
'''
    report = grade(submission({"optim": source}), exercises=["zero_grad"])
    test = exercise(report, "zero_grad").tests[0]
    assert test.status == "failed" and test.message.startswith(M.FORBIDDEN["torch.optim"]), test.message


@pytest.mark.parametrize("cls", ["Adafactor", "Muon"])
def test_torch_optim_classes_that_name_another_module_are_caught(grade, submission, cls):
    """Adafactor's and Muon's code lives in torch/optim/_adafactor.py and _muon.py while their
    __module__ says torch.optim: collected by folder, not by __module__ (an outside attacker saw them missing)."""
    args = {"Adafactor": "None, {'params': []}, [], [], [], [], [], []", "Muon": "None, {'params': []}, [], [], []"}[cls]
    source = (f"def zero_grad(params, set_to_none=True):\n    params = list(params)\n"
              f"    torch.optim.{cls}._init_group({args})  # its own code only, no base class's\n"
              f"    for p in params:\n        p.grad = None")
    report = grade(submission({"optim": source}), exercises=["zero_grad"])
    failed = [t for t in exercise(report, "zero_grad").tests if t.status == "failed"]
    assert failed and all(t.message.startswith(M.FORBIDDEN["torch.optim"]) for t in failed), failed


def test_torch_optim_is_caught_in_zero_grad(grade, submission):
    source = '''
import types
def zero_grad(params, set_to_none=True):
    params = list(params)
    torch.optim.Optimizer.zero_grad(types.SimpleNamespace(param_groups=[{"params": params}], defaults={},
                                    _zero_grad_profile_name="z", foreach=False, state={}), set_to_none)
'''
    report = grade(submission({"optim": source}), exercises=["zero_grad"])
    test = exercise(report, "zero_grad").tests[0]
    assert test.status == "failed" and test.message.startswith(M.FORBIDDEN["torch.optim"]), test.message


def test_torch_optim_in_a_thread_cannot_start(grade, submission):
    source = ("import threading\ndef _step(self):\n    live = [p for p in self.params if p.grad is not None]\n"
              "    t = threading.Thread(target=lambda: torch.optim.SGD(live, lr=self.lr).step())\n"
              "    t.start()\n    t.join()\nSGD.step = _step")
    report = grade(submission({"optim": source}), exercises=["sgd"])
    plain = exercise(report, "sgd").tests[0]
    assert plain.status == "failed" and "can't start new thread" in plain.message, plain.message


# -- the guards' own state ----------------------------------------------------------------------------

GUARD_ATTACKS = [
    "import weakref\nfor f in list(weakref.finalize._registry):\n    f()",
    "import gc\nfor o in gc.get_objects():\n    getattr(o, '_destroy', lambda: None)()",
    "import sys\nfor m in list(sys.modules.values()):\n    for lib in getattr(m, '_libraries', []) or []:\n"
    "        getattr(lib, '_destroy', lambda: None)()",
    "import sys\ng = sys.modules['guards']",
    "import guards",
    "import rules",
    "import sys\nsys.path.insert(0, '/')\nimport importlib\nimportlib.import_module('kit.worker.guards')",
    "import sys\nsys.getprofile().__defaults__",
    "import sys\np = sys.getprofile()\nobject.__setattr__(p, '__self__', ())",
    "import sys\np = sys.getprofile()\np.__func__.__code__ = (lambda *a: None).__code__",
    "import sys, types\np = sys.getprofile()\np.__func__.__defaults__ = (None,)",
    "import sys\np = sys.getprofile()\np.__self__[0].clear()",
    "import sys\ng = sys.getprofile().__func__.__globals__\nfor k in list(g):\n    g[k] = None",
    "import builtins\nbuiltins.id = lambda o: 0",
    # walk up to the worker's own frames and take what they hold
    "import sys\nf = sys._getframe()\nwhile f is not None:\n    for v in list(f.f_locals.values()):\n"
    "        for name in ('_REFUSED', '_GUARDS_ONLY', '_KERNEL_IDS'):\n"
    "            try:\n                getattr(v, name).clear()\n            except BaseException:\n                pass\n"
    "        for name in ('_audit', '_forbid', '_profile', 'harden'):\n"
    "            try:\n                getattr(v, name).__defaults__ = None\n                getattr(v, name).__code__ = (lambda *a: None).__code__\n            except BaseException:\n"
    "                pass\n    f = f.f_back\nsys.setprofile(None)",
    "import numpy\nnumpy._core.multiarray.correlate2.__kwdefaults__",
    "import torch\ntype(torch.autograd.Variable._execution_engine).run_backward.__kwdefaults__",
    "import sys\nsys.modules.pop('numpy._core._multiarray_umath')\nimport numpy._core._multiarray_umath",
]


@pytest.mark.parametrize("attack", range(len(GUARD_ATTACKS)), ids=lambda k: GUARD_ATTACKS[k].splitlines()[-1][:40])
def test_the_guards_cannot_be_reached_or_switched_off(grade, tmp_path, attack):
    from kit_support import build_submission
    body = "try:\n" + indent(GUARD_ATTACKS[attack]) + "except BaseException:\n    pass\n"
    conv = body + ("def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):\n"
                   "    return torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups)")
    backward = body + ("def relu_backward(grad_output, x):\n    x = x.detach().requires_grad_()\n"
                       "    return torch.autograd.grad(torch.relu(x), x, grad_output)[0]")
    numpy_conv = body + CONV2D_FROM_CORR1D + LIBRARY_CONV_ROUTES["numpy's C core"]
    report = grade(build_submission(tmp_path / "a", [("conv2d", conv), ("backward", backward)]),
                   exercises=["conv2d", "backward"])
    assert exercise(report, "conv2d").score == 0
    assert "a built-in convolution" in exercise(report, "conv2d").first_failure.message
    assert exercise(report, "backward").tests[1].message.startswith(M.FORBIDDEN["autograd"])
    report = grade(build_submission(tmp_path / "b", [("conv2d", numpy_conv)]), exercises=["conv2d"])
    assert exercise(report, "conv2d").first_failure.message.startswith(
        M.FORBIDDEN["convolution"].format(event=M.LIBRARY_CONVOLUTION))


def test_the_guards_keep_no_mutable_state():
    """The hooks keep their state in tuples bound to them; module-level defaults are immutable too."""
    import types
    from kit.worker import guards, rules
    functions = [f for m in (guards, rules) for f in vars(m).values() if isinstance(f, types.FunctionType)]
    assert len(functions) > 10
    for f in functions:
        for value in (f.__defaults__ or ()):
            assert not isinstance(value, (dict, list, set, bytearray)), (f.__name__, type(value))
    assert isinstance(guards._forbidden, types.MethodType) and type(guards._forbidden.__self__) is tuple
    # no mapping at all: a mappingproxy hands its dict to any object it is compared with
    assert type(guards._REFUSED) is tuple and type(guards._GUARDS_ONLY) is tuple


# A mappingproxy compared with a student's object calls obj.__eq__(the proxy's dict): the rules'
# tables were such proxies, reachable through sys.getprofile() and the guards' globals.
BY_COMPARISON = {
    "the profile hook's tables": "for table in sys.getprofile().__self__:\n    table == Leak()",
    "the audit hook's refusals, through the guards' globals": (
        "g = sys.getprofile().__self__[2].__func__.__globals__\n"
        "for name in ('_REFUSED', '_GUARDS_ONLY'):\n    g[name] == Leak()"),
}


@pytest.mark.parametrize("route", list(BY_COMPARISON))
def test_rule_tables_cannot_be_had_by_comparison(grade, submission, route):
    """A mapping in the rules' state, handed out by ==, then emptied: torch.optim's SGD then passed
    unseen (14/14 before the tables became tuples and frozensets)."""
    source = ("import sys\nleaked = []\nclass Leak:\n    def __eq__(self, other):\n"
              "        leaked.append(other)\n        return False\n"
              "try:\n" + indent(BY_COMPARISON[route]) + "except BaseException:\n    pass\n"
              "for table in leaked:\n    if isinstance(table, dict):\n        table.clear()\n"
              "try:\n    sys.setprofile(None)\nexcept BaseException:\n    pass\n"
              "SGD = torch.optim.SGD\n")
    report = grade(submission({"optim": source}), exercises=["sgd"])
    sgd = exercise(report, "sgd")
    assert sgd.score == 0 and sgd.first_failure.message.startswith(M.FORBIDDEN["torch.optim"]), \
        sgd.first_failure.message


# -- no GPU ---------------------------------------------------------------------------------------------

def test_no_gpu_is_visible_in_a_worker(zygote, tmp_path):
    from kit_support import build_submission
    from kit.sandbox import Sandbox
    folder = build_submission(tmp_path / "s", [("forward", '''
def probe():
    import glob, os
    return {"available": torch.cuda.is_available(), "count": torch.cuda.device_count(),
            "devices": sorted(glob.glob("/dev/nvidia*")), "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}
''')])
    box = Sandbox(folder, 30, zygote=zygote)
    try:
        outcome = box.run(["forward"], "call", module="forward", name="probe")
    finally:
        box.close()
    assert outcome.kind == "value", outcome
    assert outcome.value == {"available": False, "count": 0, "devices": [], "visible": ""}


# -- a rule holds exactly where the manifest names it --------------------------------------------

APPLIED = {  # rule -> code that uses what it forbids, and returns a number
    # (torch's own convolution kernels end every worker: test_raw_memory.py, KERNELS)
    "convolution": "float(__import__('numpy').correlate([1.0, 2.0, 3.0], [1.0, 1.0]).sum())",
    "torch.optim": "float(__import__('torch.optim.sgd', fromlist=['_'])._single_tensor_sgd([torch.zeros(1)], [torch.ones(1)], [None], "
                   "grad_scale=None, found_inf=None, weight_decay=0.0, momentum=0.0, lr=0.1, dampening=0.0, "
                   "nesterov=False, maximize=False, has_sparse_grad=False) is None)",
    "autograd": "float(torch.autograd.grad((torch.ones(1, requires_grad=True) * 2).sum(), "
                "[torch.ones(1, requires_grad=True)], allow_unused=True)[0] is None)",
    "layers": "float(torch.nn.functional.relu(torch.ones(2)).sum())",
    "losses": "float(torch.nn.functional.mse_loss(torch.ones(2), torch.zeros(2)))",
}


@pytest.mark.parametrize("rule", sorted(APPLIED))
def test_a_rule_holds_exactly_where_the_manifest_names_it(zygote, tmp_path, rule):
    from kit_support import build_submission
    from kit.sandbox import Sandbox
    from kit.worker.guards import RULES
    assert set(APPLIED) == RULES
    folder = build_submission(tmp_path / "s", [("forward", f"def probe():\n    return {APPLIED[rule]}\n")])
    box = Sandbox(folder, 30, zygote=zygote)
    try:
        others = box.run(["forward"], "call", forbid=sorted(RULES - {rule}), module="forward", name="probe")
        box.recycle()
        own = box.run(["forward"], "call", forbid=[rule], module="forward", name="probe")
    finally:
        box.close()
    assert others.kind == "value", (rule, others)
    assert own.kind == "forbidden", (rule, own)


# -- honest work stays allowed --------------------------------------------------------------------------

def test_rules_leave_the_solutions_full_marks(grade):
    report = grade(SOLUTIONS, seed=1)
    assert report.score == report.max_score


# -- what the rules forbid cannot be rebuilt from torch's own files ---------------------------------

OPTIM_FROM_SOURCE = '''
import sys, types, torch.optim
def _rebuilt():
    source = open(sys.modules["torch.optim.sgd"].__file__).read()
    module = types.ModuleType("torch.optim._copy")
    module.__package__ = "torch.optim"
    exec(compile(source, "/worker-tmp/copy.py", "exec"), module.__dict__)
    return module.SGD
class SGD:
    def __init__(self, params, lr=1e-3, **kwargs):
        self.params = list(params)
        self._opt = _rebuilt()(self.params, lr=lr, foreach=False, **kwargs)
    def zero_grad(self, set_to_none=True):
        self._opt.zero_grad(set_to_none=set_to_none)
    def step(self):
        self._opt.step()
'''
IM2COL_FROM_SOURCE = '''
import ast, sys, torch
def _im2col():
    import torch._decomp.decompositions as D
    tree = ast.parse(open(D.__file__).read())
    keep = [n for n in tree.body if isinstance(n, ast.FunctionDef)
            and n.name in ("im2col", "_im2col_col2im_indices_along_dim")]
    for n in keep:
        n.decorator_list = []
    space = dict(vars(D))
    exec(compile(ast.Module(body=keep, type_ignores=[]), "/worker-tmp/im2col.py", "exec"), space)
    return space["im2col"]
_reference = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _im2col()(input if input.dim() == 4 else input[None], [2, 2], [1, 1], [0, 0], [1, 1])
    return _reference(input, weight, bias, stride, padding, dilation, groups)
'''


@pytest.mark.parametrize("module, exercise, source", [
    ("optim", "sgd", OPTIM_FROM_SOURCE), ("conv2d", "conv2d", IM2COL_FROM_SOURCE),
], ids=["torch.optim recompiled under another name", "im2col's decomposition rebuilt with ast"])
def test_forbidden_code_cannot_be_rebuilt_from_torchs_files(grade, submission, module, exercise, source):
    """The source and bytecode of what a rule forbids are hidden from a worker under that rule,
    and marshal cannot make code: the right answer through a rebuilt copy earns nothing."""
    report = grade(submission({module: source}), exercises=[exercise])
    assert report.exercises[0].tests[0].status == "failed", report.exercises[0].tests[0]


def test_autograds_derivative_formulas_are_autograd(grade, submission):
    source = '''
def _ce_backward(self):
    n = len(self.target)
    onehot = torch.zeros_like(self.log_probs)
    onehot[torch.arange(n), self.target] = 1
    return torch.ops.aten._log_softmax_backward_data(-onehot / n, self.log_probs, 1, self.log_probs.dtype)
CrossEntropyLoss.backward = _ce_backward
'''
    report = grade(submission({"loss": source}), exercises=["backward"])
    test = next(t for t in report.exercises[0].tests if t.name == "test_loss_backward")
    assert test.status == "failed" and test.message.startswith(M.FORBIDDEN["autograd"]), test.message


def test_autograds_derivative_formulas_in_python_are_autograd(grade, submission):
    source = """
from torch._decomp import decompositions as _D
def relu_backward(grad_output, x):
    return _D.threshold_backward(grad_output, x, 0)
"""
    report = grade(submission({"backward": source}), exercises=["backward"])
    test = next(t for t in report.exercises[0].tests if t.name == "test_relu_backward")
    assert test.status == "failed" and test.message.startswith(M.FORBIDDEN["autograd"]), test.message


# -- forward and loss: torch's own layers and losses are the answer itself ----------------------------

LAYER_ROUTES = {
    "F.linear": ("linear", "return torch.nn.functional.linear(x, weight, bias)"),
    "nn.Linear": ("linear", "m = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)\n"
                            "with torch.no_grad():\n    m.weight.copy_(weight)\n"
                            "    if bias is not None:\n        m.bias.copy_(bias)\nreturn m(x).detach()"),
    "torch.relu": ("relu", "return torch.relu(x)"),
    "nn.ReLU": ("relu", "return torch.nn.ReLU()(x)"),
    "F.threshold": ("relu", "return torch.nn.functional.threshold(x, 0.0, 0.0)"),
    "torch's Python reference": ("relu", "import torch._refs.nn.functional as R\nreturn R.relu(x)"),
    # by what the operator computes, not its name
    "F.leaky_relu with slope 0": ("relu", "return torch.nn.functional.leaky_relu(x, 0.0)"),
    "F.elu with alpha 0": ("relu", "return torch.nn.functional.elu(x, 0.0)"),
    "F.bilinear over ones": ("linear", "ones = torch.ones(*x.shape[:-1], 1, dtype=x.dtype)\n"
                                       "return torch.nn.functional.bilinear(x, ones, weight[:, :, None], bias)"),
    "mkldnn's fused linear": ("linear", "return torch.ops.mkldnn._linear_pointwise(x, weight, bias, 'none', [], '')"),
    "F.hardtanh from 0 to infinity": ("relu", "return torch.nn.functional.hardtanh(x, 0.0, float('inf'))"),
    # torch's Python references and decompositions, by what they compute too (an eleventh attacker's)
    "F.softplus with a huge beta and threshold 0": ("relu", "return torch.nn.functional.softplus(x, 1e30, 0.0)"),
    "the decomposition _prelu_kernel with weight 0": (
        "relu", "import sys\nreturn sys.modules['torch._decomp.decompositions']._prelu_kernel(x, x.new_zeros(()))"),
}


@pytest.mark.parametrize("route", list(LAYER_ROUTES))
def test_torchs_layers_are_the_answer_itself_in_forward(grade, submission, route):
    name, body = LAYER_ROUTES[route]
    args = "x, weight, bias=None" if name == "linear" else "x"
    report = grade(submission({"forward": f"def {name}({args}):\n" + indent(body)}), exercises=["forward"])
    test = next(t for t in report.exercises[0].tests if t.name == f"test_{name}")
    assert test.status == "failed" and test.message.startswith(M.FORBIDDEN["layers"]), test.message


LOSS_ROUTES = {
    "F.mse_loss": "MSELoss.forward = lambda self, input, target: torch.nn.functional.mse_loss(input, target)",
    "nn.MSELoss": "MSELoss.forward = lambda self, input, target: torch.nn.MSELoss()(input, target)",
    "F.cross_entropy": "CrossEntropyLoss.forward = lambda self, input, target: "
                       "torch.nn.functional.cross_entropy(input, target)",
    "log_softmax and nll_loss": "CrossEntropyLoss.forward = lambda self, input, target: "
                                "torch.nn.functional.nll_loss(input.log_softmax(1), target)",
    # by what the operator computes, not its name
    "huber_loss with a huge delta": "MSELoss.forward = lambda self, input, target: "
                                    "2 * torch.nn.functional.huber_loss(input, target, delta=1e300)",
    # torch's losses written in Python from allowed operators (a ninth outside attacker's routes, loss 8/8)
    "gaussian_nll_loss with a constant variance": "import math\nMSELoss.forward = lambda self, input, target: "
                                                  "torch.nn.functional.gaussian_nll_loss(input, target, "
                                                  "torch.full_like(input, 0.5)) - 0.5 * math.log(0.5)",
    "a Categorical's log_prob": "CrossEntropyLoss.forward = lambda self, input, target: "
                                "-torch.distributions.Categorical(logits=input).log_prob(target).mean()",
    # a decomposition's bare function, under its decorators (an eleventh outside attacker's, loss 8/8)
    "the decomposition smooth_l1_loss, unwrapped, with a huge beta": (
        "import sys\n_f = sys.modules['torch._decomp.decompositions'].smooth_l1_loss\n"
        "while hasattr(_f, '__wrapped__'):\n    _f = _f.__wrapped__\n"
        "MSELoss.forward = lambda self, input, target: 2e30 * _f(input, target, 1, 1e30)"),
    # sparse tensors cannot even be made while grading (the raw-memory rule, seal.py): that ends it first
    "a sparse log_softmax": "CrossEntropyLoss.forward = lambda self, input, target: -torch.sparse.log_softmax("
                            "input.to_sparse(), 1).to_dense()[torch.arange(len(target)), target].mean()",
}


@pytest.mark.parametrize("route", list(LOSS_ROUTES))
def test_torchs_losses_are_the_answer_itself_in_loss(grade, submission, route):
    report = grade(submission({"loss": LOSS_ROUTES[route]}), exercises=["loss"])
    failed = [t for t in report.exercises[0].tests if t.status == "failed"]
    said = M.FORBIDDEN["memory" if "sparse" in route else "losses"]
    assert failed and all(t.message.startswith(said) for t in failed), failed


def test_a_loaded_extension_cannot_be_loaded_again_under_another_name(grade, submission):
    """_imp.create_dynamic runs a loaded extension's initialisation again under a new name: a fresh
    copy of every C function a rule replaced (a ninth outside attacker got numpy's correlate2 back
    that way, and conv2d 14/14 with it)."""
    source = ("import sys, _imp, importlib.util\n"
              "_m = sys.modules['numpy._core._multiarray_umath']\n"
              "_fresh = _imp.create_dynamic(importlib.util.spec_from_file_location('copy._multiarray_umath', _m.__file__))\n")
    report = grade(submission({"conv2d": source}), exercises=["conv2d"])
    message = exercise(report, "conv2d").first_failure.message
    assert exercise(report, "conv2d").score == 0 and "loading a loaded module's file again" in message, message


def test_the_sources_of_forbidden_python_code_cannot_be_read_in_any_worker(zygote, tmp_path):
    """torch.distributions and torch.nn's losses (losses) and sympy (convolution) are banned by the
    code objects and files their code comes from: their source, compiled again under another name,
    would not be (an eleventh outside attacker did so with gaussian_nll_loss). So every worker is
    without it, as it is without torch.optim's."""
    from kit_support import build_submission
    from kit.sandbox import Sandbox
    probe = ("def probe():\n    import sys\n    out = []\n"
             "    for name in ('torch.distributions.categorical', 'sympy.polys.densearith', 'torch.nn.functional',\n"
             "                 'torch.nn.modules.loss', 'torch.optim.sgd'):\n"
             "        try:\n            open(sys.modules[name].__file__).read(1)\n            out.append(name)\n"
             "        except OSError:\n            pass\n    return out\n")
    folder = build_submission(tmp_path / "s", [("forward", probe)])
    box = Sandbox(folder, 30, zygote=zygote)
    try:
        outcome = box.run(["forward"], "call", module="forward", name="probe")
    finally:
        box.close()
    assert outcome.kind == "value" and outcome.value == [], outcome
