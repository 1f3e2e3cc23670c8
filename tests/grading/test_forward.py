"""Grading tests for the forward exercise: linear, relu, MLP against torch."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from kit.cases import Case, describe
from kit.compare import expect_close, expect_result, fail, named
from kit.worker.shared import Region

pytestmark = pytest.mark.exercise("forward")


def linear_case(rng, leading=None, bias=True, dtype=None):
    dtype = dtype or rng.dtype()
    leading = leading if leading is not None else rng.choice([(rng.int(1, 6),), (1,), (2, rng.int(1, 4)), ()])
    n_in, n_out = rng.int(1, 7), rng.int(1, 7)
    x = rng.randn(*leading, n_in, dtype=dtype)
    w = rng.randn(n_out, n_in, dtype=dtype)
    b = rng.randn(n_out, dtype=dtype) if bias else None
    return Case(describe(x=x, weight=w, bias=b), (x, w, b))


def not_2d_named(x, case, call):
    """call(), with torch.mm's error on an x that is not 2-D named for what it is."""
    try:
        return call()
    except pytest.fail.Exception as failure:
        raised = failure.failure.text  # what was raised, without the case
        if x.dim() != 2 and "must be a matrix" in raised:  # torch.mm's and torch.addmm's words
            fail(named("mm_2d_only", raised), case, failure.failure.reason)
        raise


@pytest.mark.parametrize("i", range(8))
def test_linear(student, rng, i):
    case = linear_case(rng, bias=i % 4 != 3)
    x, w, b = case.args
    got = not_2d_named(x, case, lambda: student.call("forward", "linear", *case.args, case=case))
    expect_close(got, F.linear(*case.args), "linear output", case, {
        "weight_not_transposed": lambda: x @ w if b is None else x @ w + b,
        "bias_ignored": lambda: x @ w.T})


@pytest.mark.parametrize("i", range(4))
def test_relu(student, rng, i):
    x = rng.randn(rng.int(1, 5), rng.int(1, 6), dtype=rng.dtype())
    x.view(-1)[::3] = 0.0  # relu at exactly zero
    case = Case(describe(x=x) + ", with exact zeros", (x,))
    lent = Region([x])  # x lives in memory the grader reads back: changing it in place shows
    got = student.call("forward", "relu", lent[0], case=case, lend=lent)
    expect_close(got, torch.relu(x), "relu output", case)
    if not torch.equal(lent.now(0), x):
        fail("relu changed its input x in place: return a new tensor and leave x as it was "
             "(x.clamp(min=0), not x.clamp_(min=0) or x[x < 0] = 0)", case)


def mlp_params(rng, dtype, n_in, hidden, n_out):
    return [rng.randn(hidden, n_in, dtype=dtype), rng.randn(hidden, dtype=dtype),
            rng.randn(n_out, hidden, dtype=dtype), rng.randn(n_out, dtype=dtype)]


@pytest.mark.parametrize("i", range(4))
def test_mlp(student, rng, i):
    dtype = rng.dtype()
    n_in, hidden, n_out = rng.int(1, 6), rng.int(1, 8), rng.int(1, 4)
    params = mlp_params(rng, dtype, n_in, hidden, n_out)
    x = rng.randn(*([rng.int(1, 5)] if i else []), n_in, dtype=dtype)
    case = Case(describe(x=x, w1=params[0], w2=params[2]))
    lent = Region(params)  # the grader changes them in place halfway, and reads them back
    changed = mlp_params(rng, dtype, n_in, hidden, n_out)

    def callbacks(name, args):
        for k, p in enumerate(changed):
            lent.view(k).copy_(p)
        return {"result": None}
    got = not_2d_named(x, case, lambda: student.run("mlp_forward", ["forward"], case, params=lent.lent(), x=x, lend=lent,
                                              callbacks=callbacks))
    expected = F.linear(torch.relu(F.linear(x, *params[:2])), *params[2:])
    expect_result(got, ["parameters", "forward", "call", "after_change"], case)
    w1, b1, w2, b2 = params
    mistakes = {  # linear's own mistakes, as the MLP shows them (a form whose shapes cannot multiply is skipped)
        "weight_not_transposed": lambda: torch.relu(x @ w1 + b1) @ w2 + b2,
        "bias_ignored": lambda: torch.relu(x @ w1.T) @ w2.T,
        "mlp_without_relu": lambda: F.linear(F.linear(x, w1, b1), w2, b2)}
    expect_close(got["forward"], expected, "MLP.forward(x)", case, mistakes)
    expect_close(got["call"], expected, "MLP(x)", case, mistakes)
    returned = got["parameters"]
    if not isinstance(returned, list) or len(returned) != 4 or not all(isinstance(p, torch.Tensor) for p in returned):
        fail(f"MLP.parameters() should return the four tensors [w1, b1, w2, b2]; it returned "
             f"{len(returned) if isinstance(returned, list) else 'something else than a list of'} items", case)
    after = F.linear(torch.relu(F.linear(x, *changed[:2])), *changed[2:])
    def same(a, b):
        return [p.shape == c.shape and torch.equal(p, c) for p, c in zip(a, b)]
    if not all(same(returned, changed)):
        if all(same(returned, params)):
            fail("MLP.parameters() returned copies of w1, b1, w2, b2: when the grader changed the tensors "
                 "given to __init__ in place, the ones it returned kept the old values. Return the very "
                 "tensors (an optimizer updates them in place)", case)
        if any(all(same(returned, [changed[k] for k in order])) for order in itertools.permutations(range(4))):
            fail("MLP.parameters() returned w1, b1, w2, b2 in another order: return [w1, b1, w2, b2]", case)
        fail("MLP.parameters() returned tensors that are not w1, b1, w2, b2 (the tensors given to __init__)", case)
    expect_close(got["after_change"], after, "MLP(x) after the grader changed w1, b1, w2, b2 in place "
                 "(the model must compute with the very tensors it was given)", case)
