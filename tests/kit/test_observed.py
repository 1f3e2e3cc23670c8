"""Verdicts the grader observes itself: lent memory and stand-ins that live in the grader.

Student code runs in the same process as the worker's drivers and can rewrite them. So
whatever earns points beyond the values it computes -- a gradient zeroed in place, a
parameter updated in place, a model that uses the very tensors it was given, the order of
the calls in a training loop -- is read by the grader from memory it lent, or recorded by
the grader as calls come back to it. These tests rewrite the drivers to report what the
grader used to trust, next to a wrong implementation, and check that no point is gained.
"""
import pytest

from kit_support import failed_tests, scores

PATCH = "import sys as _sys\n_drivers = _sys.modules['drivers']\n"

FORGERIES = {
    # zero_grad replaces the gradient tensors, and the driver is rewritten to report zeros
    "zero_grad": ("optim", "test_zero_grad_in_place", '''
def zero_grad(params, set_to_none=True):
    for p in params:
        if p.grad is not None:
            p.grad = None if set_to_none else torch.zeros_like(p.grad)
''' + PATCH + '''
def _forged(load, module, cls, params, grads, set_to_none, as_generator, hparams=None):
    for p, g in zip(params, grads):
        p.grad = g
    _sys.modules['submission.optim'].zero_grad(params, set_to_none) if cls is None else \\
        _sys.modules['submission.optim'].SGD(params).zero_grad(**({} if set_to_none is None else {"set_to_none": set_to_none}))
    return {"grads": [None if p.grad is None else torch.zeros_like(p.grad) for p in params]}
_drivers.DRIVERS["zero_grad"] = _forged
'''),
    # SGD binds new tensors; the driver is rewritten to report the right trajectory
    "sgd": ("optim", "test_plain", '''
''' + PATCH + '''
def _forged(load, module, cls, params, steps, hparams, as_generator=False, accumulate=False):
    copies = [p.clone() for p in params]
    opt = _sys.modules['submission.optim'].SGD(copies, **hparams)
    for grads in steps:
        for p, g in zip(copies, grads):
            p.grad = None if g is None else g.clone()
        opt.step()
        _drivers.GRADER("stepped")  # the grader reads its own memory: the copies are not there
    return {"steps": len(steps)}
_drivers.DRIVERS["optimizer_steps"] = _forged
'''),
    # the model keeps copies of its weights; the driver is rewritten to hide it
    "forward": ("forward", "test_mlp", '''
_init = MLP.__init__
MLP.__init__ = lambda self, w1, b1, w2, b2: _init(self, w1.clone(), b1.clone(), w2.clone(), b2.clone())
''' + PATCH + '''
def _forged(load, params, x):
    model = MLP(*params)
    out = model(x)
    _drivers.GRADER("change_parameters")
    return {"parameters": list(params), "forward": out, "call": out, "after_change": out}
_drivers.DRIVERS["mlp_forward"] = _forged
'''),
    # the loop is run on the worker's own stand-ins, never calling the grader's
    "training_loop": ("training_loop", "test_call_order", PATCH + '''
def _forged(load, batches, num_epochs):
    return {"losses": [0.5] * (len(batches) * num_epochs)}
_drivers.DRIVERS["train"] = _forged
'''),
}


@pytest.mark.parametrize("exercise", list(FORGERIES))
def test_rewriting_the_drivers_gains_nothing(grade, submission, exercise):
    module, must_fail, source = FORGERIES[exercise]
    report = grade(submission({module: source}), exercises=[exercise])
    got, top = scores(report)[exercise]
    assert got < top and (exercise, must_fail) in failed_tests(report), failed_tests(report)


@pytest.mark.parametrize("wrong, test, words", [
    ("def relu(x):\n    return x.clamp_(min=0)", "test_relu", "relu changed its input x in place"),
    ("MLP.parameters = lambda self: [self.w1.clone(), self.b1.clone(), self.w2.clone(), self.b2.clone()]",
     "test_mlp", "MLP.parameters() returned copies"),
    ("MLP.parameters = lambda self: [self.w1, self.w2, self.b1, self.b2]", "test_mlp", "in another order"),
])
def test_what_the_grader_reads_back_is_named(grade, submission, wrong, test, words):
    report = grade(submission({"forward": wrong}), exercises=["forward"])
    assert words in failed_tests(report)[("forward", test)]


def test_an_update_that_binds_new_tensors_is_seen_in_memory(grade, submission):
    source = '''
def _step(self):
    for i, p in enumerate(self.params):
        if p.grad is not None:
            self.params[i] = p - self.lr * p.grad
SGD.step = _step
'''
    report = grade(submission({"optim": source}), exercises=["sgd"])
    assert "was unchanged after step 1" in failed_tests(report)[("sgd", "test_plain")]


def test_an_input_changed_in_place_is_named_and_a_constant_factor_shown(grade, submission):
    source = '''
def relu_backward(grad_output, x):
    grad_output[x <= 0] = 0
    return grad_output
_reference_lb = linear_backward
def linear_backward(grad_output, x, weight):
    grad_x, grad_weight, grad_bias = _reference_lb(grad_output, x, weight)
    return grad_x, grad_weight / 3, grad_bias  # a factor no known mistake explains
'''
    failed = failed_tests(grade(submission({"backward": source}), exercises=["backward"], seed=2))
    assert "relu_backward changed its input in place (argument 1" in failed[("backward", "test_relu_backward")]
    assert "every value is exactly 1/3 of" in failed[("backward", "test_linear_backward")]
