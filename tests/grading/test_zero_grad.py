"""Grading tests for the zero_grad exercise: against torch.optim's zero_grad semantics."""
import pytest

from kit.optimizers import check_zero_grad

pytestmark = pytest.mark.exercise("zero_grad")


@pytest.mark.parametrize("set_to_none, as_generator", [(None, False), (True, False), (None, True)])
def test_zero_grad_set_to_none(student, rng, set_to_none, as_generator):
    check_zero_grad(student, rng, "optim", None, set_to_none, as_generator)


@pytest.mark.parametrize("as_generator", [False, True])
def test_zero_grad_in_place(student, rng, as_generator):
    check_zero_grad(student, rng, "optim", None, False, as_generator)


@pytest.mark.parametrize("set_to_none, as_generator", [(None, False), (False, False), (True, True)])
def test_optimizer_zero_grad(student, rng, set_to_none, as_generator):
    check_zero_grad(student, rng, "optim", "SGD", set_to_none, as_generator)
