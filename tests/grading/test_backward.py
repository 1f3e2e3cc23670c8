"""Grading tests for the backward exercise: every gradient against autograd's."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from kit.cases import Case, describe
from kit.compare import expect_close, expect_grads, expect_result, fail

pytestmark = pytest.mark.exercise("backward")

PARAM_NAMES = ["w1.grad", "b1.grad", "w2.grad", "b2.grad"]


def autograd(fn, *inputs, grad_output=None):
    """The gradients torch computes for fn at inputs (the reference for every test here)."""
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    out = fn(*leaves)
    out.backward(grad_output)
    return [t.grad for t in leaves]


def expect_triple(got, case):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail("linear_backward should return a tuple (grad_x, grad_weight, grad_bias)", case)
    return got


def grad_bias_mistakes(grad_output):
    """What grad_bias is under each known mistake (kit/misconceptions.py)."""
    dims = range(grad_output.dim())
    last = grad_output.dim() - 1
    leading = [d for d in dims if d != last]
    return {
        # some leading dimensions left unsummed: none, or not all of them
        "grad_bias_not_summed": lambda: [grad_output] + [grad_output.sum(d) for d in leading if len(leading) > 1],
        # a sum that takes in the last axis, the features: alone, or with some leading ones
        "grad_bias_wrong_axis": lambda: [grad_output.sum(tuple(ds)) for r in range(1, len(dims) + 1)
                                         for ds in itertools.combinations(dims, r) if last in ds],
        "grad_bias_mean": lambda: [grad_output.reshape(-1, grad_output.shape[-1]).mean(0)] +
                                  ([grad_output.mean(0)] if grad_output.dim() > 2 else []),
    }


@pytest.mark.parametrize("i", range(6))
def test_linear_backward(student, rng, i):
    dtype = rng.dtype()
    leading = [(rng.int(1, 6),), (), (2, rng.int(1, 4)), (1,)][i % 4]
    n_in, n_out = rng.int(1, 6), rng.int(1, 6)
    x, w, b = rng.randn(*leading, n_in, dtype=dtype), rng.randn(n_out, n_in, dtype=dtype), rng.randn(n_out, dtype=dtype)
    grad_output = rng.randn(*leading, n_out, dtype=dtype)
    case = Case(describe(grad_output=grad_output, x=x, weight=w))
    expected = autograd(F.linear, x, w, b, grad_output=grad_output)
    got = expect_triple(student.call("backward", "linear_backward", grad_output, x, w, case=case), case)
    mistakes = {"grad_bias": grad_bias_mistakes(grad_output),
                "grad_weight": {"grad_weight_transposed": lambda: expected[1].T}}
    for g, e, name in zip(got, expected, ["grad_x", "grad_weight", "grad_bias"]):
        expect_close(g, e, name, case, mistakes.get(name),
                     sizes={"the number of rows of grad_output (every leading dimension)":
                            grad_output.reshape(-1, n_out).shape[0]})


@pytest.mark.parametrize("i", range(4))
def test_relu_backward(student, rng, i):
    dtype = rng.dtype()
    x = rng.randn(rng.int(1, 5), rng.int(1, 6), dtype=dtype)
    x.view(-1)[::2] = 0.0  # torch's relu passes no gradient at exactly 0
    grad_output = rng.randn(*x.shape, dtype=dtype)
    case = Case(describe(grad_output=grad_output, x=x) + ", with exact zeros in x")
    got = student.call("backward", "relu_backward", grad_output, x, case=case)
    expect_close(got, autograd(torch.relu, x, grad_output=grad_output)[0], "relu_backward output", case,
                 {"relu_grad_at_zero": lambda: grad_output * (x >= 0)})


@pytest.mark.parametrize("loss", ["MSELoss", "CrossEntropyLoss"])
@pytest.mark.parametrize("i", range(3))
def test_loss_backward(student, rng, loss, i):
    dtype = rng.dtype()
    n, c = rng.int(1, 5), rng.int(2, 5)
    input = rng.randn(n, c, dtype=dtype, scale=[1.0, 1.0, 5.0][i])  # huge logits: the loss exercise's job
    if loss == "MSELoss":
        target, reference = rng.randn(n, c, dtype=dtype), F.mse_loss
    else:
        target, reference = torch.randint(0, c, (n,), generator=rng.gen), F.cross_entropy
    case = Case(describe(input=input, target=target))
    expected = autograd(lambda inp: reference(inp, target), input)[0]
    if loss == "MSELoss":
        mistakes = {"mse_factor_2": lambda: expected / 2, "sum_vs_mean": lambda: expected * input.numel()}
    else:
        mistakes = {"grad_not_averaged": lambda: expected * n}
    got = student.run("loss_backward", ["loss"], case, cls=loss, input=input, target=target)
    expect_close(got, expected, f"{loss}.backward()", case, mistakes,
                 sizes={"the batch size": n, "the number of classes": c, "the number of elements": input.numel()})


@pytest.mark.parametrize("start", ["none", "stale", "mixed"])
@pytest.mark.parametrize("i", range(2))
def test_mlp_backward(student, rng, start, i):
    dtype = rng.dtype()
    n_in, hidden, n_out = rng.int(1, 5), rng.int(1, 7), rng.int(1, 4)
    params = [rng.randn(hidden, n_in, dtype=dtype), rng.randn(hidden, dtype=dtype),
              rng.randn(n_out, hidden, dtype=dtype), rng.randn(n_out, dtype=dtype)]
    x = rng.randn(rng.int(1, 4), n_in, dtype=dtype)
    x.view(-1)[0] = 0.0
    grad_output = rng.randn(x.shape[0], n_out, dtype=dtype)
    initial = [None if start == "none" or (start == "mixed" and k % 2) else rng.randn(*p.shape, dtype=dtype)
               for k, p in enumerate(params)]
    case = Case(describe(x=x, w1=params[0], w2=params[2]) +
                {"none": ", every .grad None before", "stale": ", every .grad already set",
                 "mixed": ", w1 and w2 have a .grad already, b1 and b2 None"}[start])
    leaves = [p.clone().requires_grad_() for p in params]
    for leaf, g in zip(leaves, initial):
        leaf.grad = None if g is None else g.clone()
    x_leaf = x.clone().requires_grad_()
    F.linear(torch.relu(F.linear(x_leaf, *leaves[:2])), *leaves[2:]).backward(grad_output)
    got = expect_result(student.run("mlp_backward", ["forward", "backward"], case, params=params, x=x,
                                    grad_output=grad_output, initial_grads=initial),
                        ["grad_input", "grads"], case)
    expect_close(got["grad_input"], x_leaf.grad, "the gradient returned by MLP.backward (d loss / d x)", case)
    fresh = [leaf.grad - (0 if g is None else g) for leaf, g in zip(leaves, initial)]
    n = x.shape[0]
    averaged = [leaf.grad if k % 2 == 0 else leaf.grad - f + f / n  # b1, b2: a mean over the batch
                for k, (leaf, f) in enumerate(zip(leaves, fresh))]
    expect_grads(got["grads"], [leaf.grad for leaf in leaves], PARAM_NAMES, case,
                 {"grad_overwritten": lambda: fresh, "grad_bias_mean": lambda: averaged})
