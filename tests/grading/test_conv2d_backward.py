"""Grading tests for the conv2d_backward exercise: every gradient against autograd through F.conv2d."""
import pytest
import torch
import torch.nn.functional as F

from kit import shapes
from kit.cases import Case, describe
from kit.compare import expect_close, fail

pytestmark = pytest.mark.exercise("conv2d_backward")


def make(rng, *, groups=1, stride=1, padding=0, dilation=1, size=None, kernel=None):
    dtype = rng.dtype()
    c_in, c_out = groups * rng.int(1, 2), groups * rng.int(1, 2)
    kh, kw = kernel or (rng.int(1, 3), rng.int(1, 3))
    h, w = size or (rng.int(4, 7), rng.int(4, 7))
    x = rng.randn(rng.int(1, 2), c_in, h, w, dtype=dtype)
    weight = rng.randn(c_out, c_in // groups, kh, kw, dtype=dtype)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return Case(describe(input=x, weight=weight, **kwargs), (x, weight), kwargs)


def grad_weight_undilated(x, weight, grad_output, k):
    """grad_weight when tap (u, v) pairs grad_output with x_padded[i*stride + u, j*stride + v]: the
    gradient of an undilated convolution of the padded input, cut to the rows the windows reach."""
    (ph, pw), (sh, sw) = [v if isinstance(v, tuple) else (v, v) for v in (k["padding"], k["stride"])]
    kh, kw = weight.shape[-2:]
    rows, cols = (grad_output.shape[-2] - 1) * sh + kh, (grad_output.shape[-1] - 1) * sw + kw
    xp = F.pad(x, (pw, pw, ph, ph))[..., :rows, :cols]
    w = weight.detach().clone().requires_grad_()
    F.conv2d(xp, w, stride=k["stride"], groups=k["groups"]).backward(grad_output)
    return w.grad


def check(student, rng, case):
    x, weight = case.args
    leaves = [t.clone().requires_grad_() for t in (x, weight)]
    bias = torch.zeros(weight.shape[0], dtype=x.dtype, requires_grad=True)
    out = F.conv2d(*leaves, bias, **case.kwargs)
    grad_output = rng.randn(*out.shape, dtype=x.dtype)
    out.backward(grad_output)
    case.label = f"grad_output {'x'.join(map(str, out.shape))}, {case.label}"
    got = student.call("conv2d_backward", "conv2d_backward", grad_output, x, weight, case=case, **case.kwargs)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail("conv2d_backward should return a tuple (grad_input, grad_weight, grad_bias)", case)
    expected = {"grad_input": leaves[0].grad, "grad_weight": leaves[1].grad, "grad_bias": bias.grad}
    mistakes = {"grad_weight": {"flipped_kernel_grad_weight": lambda: expected["grad_weight"].flip(-1, -2),
                                "dilation_ignored_grad_weight": lambda: grad_weight_undilated(x, weight, grad_output,
                                                                                              case.kwargs)},
                "grad_bias": {"mean_vs_sum": lambda: grad_output.mean(dim=(0, 2, 3))}}
    k = case.kwargs

    def grad_input_size(g):
        return shapes.conv2d_grad_input(grad_output.shape[-2:], weight.shape[-2:], x.shape[-2:], g.shape[-2:],
                                        k["stride"], k["padding"], k["dilation"])
    for g, (name, e) in zip(got, expected.items()):
        expect_close(g, e, name, case, mistakes.get(name), on_shape=grad_input_size if name == "grad_input" else None,
                     sizes={"the batch size": x.shape[0], "grad_output's positions per channel (N*H*W)":
                            grad_output[:, 0].numel()})


@pytest.mark.parametrize("i", range(3))
def test_basic(student, rng, i):
    check(student, rng, make(rng))


@pytest.mark.parametrize("i", range(4))
def test_stride_padding(student, rng, i):
    check(student, rng, make(rng, stride=rng.pair(1, 3), padding=rng.pair(0, 2)))


@pytest.mark.parametrize("i", range(3))
def test_dilation(student, rng, i):
    check(student, rng, make(rng, dilation=rng.pair(1, 3), stride=rng.pair(1, 2), padding=rng.pair(0, 1),
                             kernel=(rng.int(2, 3), rng.int(1, 3)), size=(rng.int(7, 9), rng.int(7, 9))))


@pytest.mark.parametrize("groups", [2, 3])
def test_groups(student, rng, groups):
    check(student, rng, make(rng, groups=groups, stride=rng.pair(1, 2), padding=rng.pair(0, 1)))


EDGE_CASES = {
    "stride skips the last rows (output_padding needed)": dict(kernel=(2, 2), stride=(3, 3), size=(7, 6)),
    "stride larger than kernel, non-square": dict(kernel=(1, 2), stride=(2, 4), padding=(1, 0), size=(5, 9)),
    "kernel as large as the padded input": dict(kernel=(3, 3), padding=1, size=(1, 1)),
    "1x1 kernel": dict(kernel=(1, 1), size=(3, 4)),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(student, rng, name):
    case = make(rng, **EDGE_CASES[name])
    case.label = f"{name}: {case.label}"
    check(student, rng, case)
