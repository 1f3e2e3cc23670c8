"""Grading tests for the conv2d exercise: against F.conv2d on random and hand-picked cases.

Sizes are small on purpose: a seven-nested-loop scalar solution must finish well inside
the time limit (see benchmarks/ for the measurement)."""
import re

import pytest
import torch.nn.functional as F

from kit import shapes
from kit.cases import Case, describe
from kit.results import Reason
from kit.compare import expect_close, fail

pytestmark = pytest.mark.exercise("conv2d")


def make(rng, *, groups=1, stride=1, padding=0, dilation=1, bias=True, batch=None, unbatched=False,
         size=None, kernel=None, dtype=None):
    dtype = dtype or rng.dtype()
    c_in, c_out = groups * rng.int(1, 2), groups * rng.int(1, 2)
    kh, kw = kernel or (rng.int(1, 3), rng.int(1, 3))
    h, w = size or (rng.int(4, 7), rng.int(4, 7))
    shape = (c_in, h, w) if unbatched else (batch or rng.int(1, 2), c_in, h, w)
    x = rng.randn(*shape, dtype=dtype)
    weight = rng.randn(c_out, c_in // groups, kh, kw, dtype=dtype)
    b = rng.randn(c_out, dtype=dtype) if bias else None
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return Case(describe(input=x, weight=weight, bias=b, **kwargs), (x, weight, b), kwargs)


def mistakes(x, weight, bias, kwargs):
    """What known mistakes would give on this case (kit/misconceptions.py)."""
    k = dict(kwargs)
    rows, cols = F.conv2d(x, weight, bias, **k).shape[-2:]

    def index_only():
        """The right padding and output size, but taps one apart: the first rows and columns of an
        undilated convolution of the padded input (nothing where that is dilation_ignored's answer)."""
        p = k["padding"]
        pads = same_pads(weight, k["dilation"]) if p == "same" else (0, 0, 0, 0) if p == "valid" else \
            (pair(p)[1], pair(p)[1], pair(p)[0], pair(p)[0])
        undilated = F.conv2d(F.pad(x, pads), weight, bias, stride=k["stride"], groups=k["groups"])
        return [] if p != "same" and undilated.shape[-2:] == (rows, cols) else undilated[..., :rows, :cols]

    def stride_index_only():
        """The right output size, but output cell i reads from input row i, not i*stride: the first
        rows and columns of the unstrided convolution (nothing when the stride is 1)."""
        unstrided = F.conv2d(x, weight, bias, **{**k, "stride": 1})
        return [] if unstrided.shape[-2:] == (rows, cols) else unstrided[..., :rows, :cols]

    found = {"flipped_kernel": lambda: F.conv2d(x, weight.flip(-1, -2), bias, **k),
             "stride_ignored": lambda: F.conv2d(x, weight, bias, **{**k, "stride": 1}),
             "stride_ignored_index": stride_index_only,
             "dilation_ignored": lambda: F.conv2d(x, weight, bias, **{**k, "dilation": 1}),
             "dilation_ignored_index": index_only}
    if k["groups"] > 1:  # every output channel reads every input channel, with its group's weight repeated
        found["groups_ignored"] = lambda: F.conv2d(x, weight.repeat(1, k["groups"], 1, 1), bias,
                                                   **{**k, "groups": 1})
    if k["padding"] == "same":
        def other_side():  # the extra one first: torch puts it last
            return F.conv2d(F.pad(x, same_pads(weight, k["dilation"], extra_last=False)), weight, bias, padding=0,
                            dilation=k["dilation"], groups=k["groups"])
        found["same_padding_side"] = other_side
    return found


def same_pads(weight, dilation, extra_last=True):
    """F.pad's (left, right, top, bottom) for padding='same'."""
    pads = []
    for size, d in zip(reversed(weight.shape[2:]), reversed(pair(dilation))):
        total = d * (size - 1)
        pads += [total // 2, total - total // 2] if extra_last else [total - total // 2, total // 2]
    return pads


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


def size_note(x, weight, k, expected):
    """torch's output size here, worked out per axis: what an index that ran off the end should fit."""
    return f"torch's output here has shape {tuple(expected.shape)}; " + shapes.conv2d(
        x.shape[-2:], weight.shape[-2:], None, k["stride"], k["padding"], k["dilation"])


def groups_explained(x, weight, k, case, call, expected=None):
    """call(), with a size error between all input channels and a group's, said in those terms, and
    any other raise given torch's output size (an index past the end is often a size worked out wrong)."""
    try:
        return call()
    except pytest.fail.Exception as failure:
        raised = failure.failure.text  # what was raised, without the case
        c_in, c_in_g, g = x.shape[-3], weight.shape[1], k["groups"]
        if g > 1 and "must match the size" in raised and {f"({c_in})", f"({c_in_g})"} <= set(
                re.findall(r"\(\d+\)", raised)):
            fail(f"{raised}. Those are the {c_in} input channels and weight's {c_in_g} = {c_in} / groups: with "
                 f"groups={g}, the output channels of group k read only input channels k*{c_in_g} to "
                 f"(k+1)*{c_in_g} - 1, so split the channels by group", case, failure.failure.reason)
        if expected is not None and failure.failure.reason == Reason.RAISED:
            fail(f"{raised} ({size_note(x, weight, k, expected)})", case, Reason.RAISED)
        raise


def check(student, case, positional=False):
    x, weight, bias = case.args
    expected = F.conv2d(x, weight, bias, **case.kwargs)
    k = case.kwargs
    if positional:
        got = groups_explained(x, weight, k, case, lambda: student.call(
            "conv2d", "conv2d", x, weight, bias, k["stride"], k["padding"], k["dilation"], k["groups"], case=case),
            expected)
    else:
        got = groups_explained(x, weight, k, case, lambda: student.call("conv2d", "conv2d", x, weight, bias,
                                                                         case=case, **k), expected)
    arithmetic = lambda got: shapes.conv2d(x.shape[-2:], weight.shape[-2:], got.shape[-2:], k["stride"],  # noqa: E731
                                           k["padding"], k["dilation"])
    expect_close(got, expected, "conv2d output", case, mistakes(x, weight, bias, k), on_shape=arithmetic)


@pytest.mark.parametrize("i", range(4))
def test_basic(student, rng, i):
    check(student, make(rng))


@pytest.mark.parametrize("i", range(5))
def test_stride_padding(student, rng, i):
    check(student, make(rng, stride=rng.pair(1, 3), padding=rng.pair(0, 2)), positional=i == 0)


@pytest.mark.parametrize("i", range(4))
def test_dilation(student, rng, i):
    check(student, make(rng, dilation=rng.pair(1, 3), stride=rng.pair(1, 2), padding=rng.pair(0, 2),
                        kernel=(rng.int(2, 3), rng.int(1, 3)), size=(rng.int(7, 9), rng.int(7, 9))))


@pytest.mark.parametrize("groups", [2, 3, 2])
def test_groups(student, rng, groups):
    check(student, make(rng, groups=groups, stride=rng.pair(1, 2), padding=rng.pair(0, 1)))


@pytest.mark.parametrize("padding, kernel, dilation", [
    ("same", (3, 3), 1), ("same", (2, 4), 1), ("same", (3, 2), (2, 1)), ("valid", (2, 3), 1), ("valid", (3, 3), 2)])
def test_string_padding(student, rng, padding, kernel, dilation):
    size = (rng.int(5, 7), rng.int(5, 7))
    check(student, make(rng, padding=padding, kernel=kernel, dilation=dilation, size=size))


@pytest.mark.parametrize("unbatched, bias", [(True, True), (True, False), (False, False)])
def test_unbatched_no_bias(student, rng, unbatched, bias):
    check(student, make(rng, unbatched=unbatched, bias=bias, stride=rng.pair(1, 2), padding=rng.pair(0, 1)))


EDGE_CASES = {
    "stride larger than kernel": dict(kernel=(2, 2), stride=(3, 4), size=(7, 9)),
    "1x1 kernel": dict(kernel=(1, 1), stride=1, size=(3, 5)),
    "kernel as large as the input": dict(kernel=(4, 5), size=(4, 5)),
    "non-square everything, batch 1": dict(kernel=(1, 3), stride=(2, 1), padding=(0, 2), dilation=(1, 2),
                                           size=(5, 8), batch=1),
    "padding larger than half the kernel": dict(kernel=(2, 2), padding=3, size=(3, 3)),
    "1x1 input": dict(kernel=(1, 1), size=(1, 1)),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(student, rng, name):
    case = make(rng, **EDGE_CASES[name])
    case.label = f"{name}: {case.label}"
    check(student, case)
