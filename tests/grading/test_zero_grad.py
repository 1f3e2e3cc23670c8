"""Grading tests for the zero_grad exercise: against torch.optim's zero_grad semantics."""
import pytest
import torch

from kit.cases import Case
from kit.compare import expect_close, expect_result, fail, named
from kit.worker.shared import Region

pytestmark = pytest.mark.exercise("zero_grad")


def setup(rng, n):
    dtype = rng.dtype()
    params = [rng.randn(rng.int(1, 4), rng.int(1, 3), dtype=dtype) for _ in range(n)]
    grads = [None if k == 1 else rng.randn(*p.shape, dtype=dtype) for k, p in enumerate(params)]
    return params, grads


def reference(params, grads, set_to_none):
    """What torch.optim does: run a real optimizer's zero_grad on copies."""
    copies = [p.clone() for p in params]
    for p, g in zip(copies, grads):
        p.grad = None if g is None else g.clone()
    kwargs = {} if set_to_none is None else {"set_to_none": set_to_none}
    torch.optim.SGD(copies, lr=0.1).zero_grad(**kwargs)
    return [p.grad for p in copies]


def check(student, rng, set_to_none, as_generator, via_optimizer):
    params, grads = setup(rng, 3)
    arg = "" if set_to_none is None else f"set_to_none={set_to_none}"
    call = f"SGD(params).zero_grad({arg})" if via_optimizer else f"zero_grad(params{', ' * bool(arg)}{arg})"
    case = Case(f"{call} on 3 parameters whose grads are [tensor, None, tensor]"
                + (", params given as a generator" if as_generator else ""))
    # parameters and gradients live in memory the grader reads back itself
    lent = Region(params + [g for g in grads if g is not None])
    where = {}  # parameter k -> index of its gradient in `lent`
    for k, g in enumerate(grads):
        if g is not None:
            where[k] = len(params) + len(where)
    got = expect_result(student.run("zero_grad", ["optim"], case, lend=lent, params=lent.lent()[:len(params)],
                                    grads=[lent[where[k]] if k in where else None for k in range(len(grads))],
                                    set_to_none=set_to_none, as_generator=as_generator,
                                    via_optimizer=via_optimizer),
                        ["grads"], case)
    expected = reference(params, grads, set_to_none)
    if not isinstance(got["grads"], list) or len(got["grads"]) != len(params):
        expect_result(None, ["grads"], case)  # the driver reports every parameter: this is tampering
    for k, (g, e) in enumerate(zip(got["grads"], expected)):
        name = f"parameter {k}'s .grad"
        if e is None and g is not None:
            fail(f"{name} should be None after zero_grad{'' if grads[k] is None else ' with set_to_none=True'}, "
                 "but it is a tensor", case)
        if e is not None:
            if g is None:
                fail(named("set_to_none_ignored",
                           f"{name} should be zeroed in place with set_to_none=False, but it was set to None"), case)
            expect_close(g, e, name, case)
            if not torch.equal(lent.now(where[k]), e):
                fail(f"{name} was replaced by a new tensor: the gradient the parameter had still holds its old "
                     "values. Zero it in place (p.grad.zero_()) so that anything holding it sees the zeros", case)
    for k, before in enumerate(params):
        expect_close(lent.now(k), before, f"parameter {k} (zero_grad must not change parameters)", case)


@pytest.mark.parametrize("set_to_none, as_generator", [(None, False), (True, False), (None, True)])
def test_zero_grad_set_to_none(student, rng, set_to_none, as_generator):
    check(student, rng, set_to_none, as_generator, via_optimizer=False)


@pytest.mark.parametrize("as_generator", [False, True])
def test_zero_grad_in_place(student, rng, as_generator):
    check(student, rng, False, as_generator, via_optimizer=False)


@pytest.mark.parametrize("set_to_none, as_generator", [(None, False), (False, False), (True, True)])
def test_optimizer_zero_grad(student, rng, set_to_none, as_generator):
    check(student, rng, set_to_none, as_generator, via_optimizer=True)
