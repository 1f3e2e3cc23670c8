"""Grading tests for the forward exercise: linear, relu, MLP against torch."""
import pytest
import torch
import torch.nn.functional as F

from kit.cases import Case, describe
from kit.compare import expect_close, expect_result, fail

pytestmark = pytest.mark.exercise("forward")


def linear_case(rng, leading=None, bias=True, dtype=None):
    dtype = dtype or rng.dtype()
    leading = leading if leading is not None else rng.choice([(rng.int(1, 6),), (1,), (2, rng.int(1, 4)), ()])
    n_in, n_out = rng.int(1, 7), rng.int(1, 7)
    x = rng.randn(*leading, n_in, dtype=dtype)
    w = rng.randn(n_out, n_in, dtype=dtype)
    b = rng.randn(n_out, dtype=dtype) if bias else None
    return Case(describe(x=x, weight=w, bias=b), (x, w, b))


@pytest.mark.parametrize("i", range(8))
def test_linear(student, rng, i):
    case = linear_case(rng, bias=i % 4 != 3)
    x, w, b = case.args
    got = student.call("forward", "linear", *case.args, case=case)
    expect_close(got, F.linear(*case.args), "linear output", case, {
        "weight_not_transposed": lambda: x @ w if b is None else x @ w + b,
        "bias_ignored": lambda: x @ w.T})


@pytest.mark.parametrize("i", range(4))
def test_relu(student, rng, i):
    x = rng.randn(rng.int(1, 5), rng.int(1, 6), dtype=rng.dtype())
    x.view(-1)[::3] = 0.0  # relu at exactly zero
    case = Case(describe(x=x) + ", with exact zeros", (x,))
    before = x.clone()
    got = student.call("forward", "relu", x, case=case)
    expect_close(got, torch.relu(before), "relu output", case)


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
    got = student.run("mlp_forward", ["forward"], case, params=params, x=x)
    expected = F.linear(torch.relu(F.linear(x, *params[:2])), *params[2:])
    expect_result(got, ["parameters_are_inputs", "n_parameters", "forward", "call"], case)
    if not got["parameters_are_inputs"]:
        fail(f"MLP.parameters() should return [w1, b1, w2, b2], the very tensors given to "
             f"__init__ (not copies); it returned {got['n_parameters']} tensors that are not those", case)
    expect_close(got["forward"], expected, "MLP.forward(x)", case)
    expect_close(got["call"], expected, "MLP(x)", case)
