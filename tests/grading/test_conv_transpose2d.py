"""Grading tests for the conv_transpose2d exercise: against F.conv_transpose2d."""
import pytest
import torch.nn.functional as F  # noqa: N812

from kit import shapes
from kit.cases import Case, describe
from kit.compare import expect_close, fail, named, tensor_problem, value_problem

pytestmark = pytest.mark.exercise("conv_transpose2d")


def make(rng, *, groups=1, stride=1, padding=0, output_padding=0, dilation=1, bias=True, batch=None,
         unbatched=False, size=None, kernel=None, dtype=None):
    dtype = dtype or rng.dtype()
    c_in, c_out = groups * rng.int(1, 2), groups * rng.int(1, 2)
    kh, kw = kernel or (rng.int(1, 3), rng.int(1, 3))
    h, w = size or (rng.int(2, 5), rng.int(2, 5))
    shape = (c_in, h, w) if unbatched else (batch or rng.int(1, 2), c_in, h, w)
    x = rng.randn(*shape, dtype=dtype)
    weight = rng.randn(c_in, c_out // groups, kh, kw, dtype=dtype)
    b = rng.randn(c_out, dtype=dtype) if bias else None
    padding = _fit_padding(padding, (h, w), (kh, kw), stride, dilation, output_padding)
    kwargs = {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups,
              "dilation": dilation}
    return Case(describe(input=x, weight=weight, bias=b, **kwargs), (x, weight, b), kwargs)


def _pairs(*values):
    return [v if isinstance(v, tuple) else (v, v) for v in values]


def _fit_padding(padding, size, kernel, stride, dilation, output_padding):
    """Padding crops: never so much that nothing is left (torch rejects an empty output)."""
    fitted = []
    for p, n, k, s, d, op in zip(*_pairs(padding, size, kernel, stride, dilation, output_padding)):
        fitted.append(min(p, ((n - 1) * s + d * (k - 1) + op) // 2))
    if fitted == list(_pairs(padding)[0]):
        return padding
    return tuple(fitted)


def mistakes(x, weight, bias, k):
    """What known mistakes would give on this case (kit/misconceptions.py)."""
    def padding_adds():
        ph, pw = _pairs(k["padding"])[0]
        return F.pad(F.conv_transpose2d(x, weight, bias, **{**k, "padding": 0}), (pw, pw, ph, ph))

    def output_padding_missing():
        """The full grid allocated without output_padding's rows, then output_padding left out, or
        full[padding : size - padding + output_padding]: a slice past the end stops at the end."""
        (ph, pw), (oh, ow) = _pairs(k["padding"], k["output_padding"])
        full = F.conv_transpose2d(x, weight, None, **{**k, "padding": 0, "output_padding": 0})
        rows, cols = full.shape[-2:]
        forms = [full[..., ph:rows - ph, pw:cols - pw], full[..., ph:rows - ph + oh, pw:cols - pw + ow]]
        return [f if bias is None else f + bias[:, None, None] for f in forms]
    return {"flipped_kernel_transpose": lambda: F.conv_transpose2d(x, weight.flip(-1, -2), bias, **k),
            "stride_ignored_transpose": lambda: F.conv_transpose2d(x, weight, bias,
                                                                   **{**k, "stride": 1, "output_padding": 0}),
            "transpose_padding_adds": padding_adds,
            "output_padding_ignored": output_padding_missing}


def check(student, case, positional=False):
    x, weight, bias = case.args
    expected = F.conv_transpose2d(x, weight, bias, **case.kwargs)
    k = case.kwargs
    arithmetic = lambda got: shapes.conv_transpose2d(  # noqa: E731
        x.shape[-2:], weight.shape[-2:], got.shape[-2:], k["stride"], k["padding"], k["output_padding"], k["dilation"])
    if positional:  # torch's order: ..., output_padding, groups, dilation
        try:
            got = student.call("conv_transpose2d", "conv_transpose2d", x, weight, bias, k["stride"], k["padding"],
                               k["output_padding"], k["groups"], k["dilation"], case=case)
            expect_close(got, expected, "conv_transpose2d output", case, mistakes(x, weight, bias, k),
                         on_shape=arithmetic)
        except pytest.fail.Exception as failure:
            # the same call by keyword: if that is right, the parameters are in the wrong order
            again = student.call("conv_transpose2d", "conv_transpose2d", x, weight, bias, case=case, **k)
            if tensor_problem(again, expected, "") is None and value_problem(again, expected, "") is None:
                fail(named("transpose_arg_order", failure.failure.text), case, failure.failure.reason)
            raise
        return
    got = student.call("conv_transpose2d", "conv_transpose2d", x, weight, bias, case=case, **k)
    expect_close(got, expected, "conv_transpose2d output", case, mistakes(x, weight, bias, k), on_shape=arithmetic)


def output_padding_for(rng, stride, dilation):
    """A random output_padding that torch accepts: smaller than stride or dilation, per axis."""
    return tuple(rng.int(0, max(s, d) - 1) for s, d in zip(*_pairs(stride, dilation)))


@pytest.mark.parametrize("i", range(4))
def test_basic(student, rng, i):
    check(student, make(rng))


@pytest.mark.parametrize("i", range(4))
def test_stride(student, rng, i):
    check(student, make(rng, stride=rng.pair(2, 3)))


@pytest.mark.parametrize("i", range(5))
def test_padding_output_padding(student, rng, i):
    stride, kernel = rng.pair(1, 3), (rng.int(2, 4), rng.int(2, 4))
    padding = (rng.int(0, kernel[0] - 1), rng.int(0, kernel[1] - 1))  # with size >= kernel, the output is never empty
    case = make(rng, stride=stride, padding=rng.choice([padding, padding[0]]), kernel=kernel,
                output_padding=output_padding_for(rng, stride, 1), size=(rng.int(4, 5), rng.int(4, 5)))
    check(student, case, positional=i == 0)


@pytest.mark.parametrize("i", range(4))
def test_dilation(student, rng, i):
    stride, dilation = rng.pair(1, 2), rng.pair(2, 3)
    check(student, make(rng, stride=stride, dilation=dilation, padding=rng.pair(0, 1),
                        output_padding=output_padding_for(rng, stride, dilation)), positional=i == 0)


@pytest.mark.parametrize("groups", [2, 3])
def test_groups(student, rng, groups):
    check(student, make(rng, groups=groups, stride=rng.pair(1, 2), padding=rng.pair(0, 1)))


@pytest.mark.parametrize("unbatched, bias", [(True, True), (True, False), (False, False)])
def test_unbatched_no_bias(student, rng, unbatched, bias):
    check(student, make(rng, unbatched=unbatched, bias=bias, stride=rng.pair(1, 2)))


EDGE_CASES = {
    "stride larger than kernel": dict(kernel=(2, 2), stride=(3, 4), size=(3, 3)),
    "1x1 kernel with stride": dict(kernel=(1, 1), stride=2, output_padding=1, size=(3, 4)),
    "1x1 input": dict(kernel=(3, 2), size=(1, 1)),
    "padding crops almost everything": dict(kernel=(3, 3), padding=(1, 2), stride=1, size=(2, 3)),
    "non-square everything, batch 1": dict(kernel=(1, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0),
                                           dilation=(1, 2), size=(3, 4), batch=1),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(student, rng, name):
    case = make(rng, **EDGE_CASES[name])
    case.label = f"{name}: {case.label}"
    check(student, case)
