"""Grading tests for the sgd exercise: trajectories against torch.optim.SGD, step for step."""
import pytest
import torch

from kit.cases import Case
from kit.optimizers import arguments_id, check_arguments, check_trajectory, eager, label

pytestmark = pytest.mark.exercise("sgd")


def mistaken_trajectory(params, steps, hparams, mistake):
    """torch.optim.SGD's arithmetic with one known mistake, to recognise it in an answer."""
    lr, momentum, dampening = hparams.get("lr"), hparams.get("momentum", 0), hparams.get("dampening", 0)
    decay, nesterov, maximize = hparams.get("weight_decay", 0), hparams.get("nesterov", False), hparams.get("maximize", False)
    if mistake == "maximize_ignored":
        maximize = False
    params, buffers, trajectory = [p.clone() for p in params], [None] * len(params), []
    for grads in steps:
        for k, (p, g) in enumerate(zip(params, grads)):
            if g is None:
                continue
            g = -g if maximize else g
            if decay and mistake != "weight_decay_place":
                g = g + decay * p
            if momentum:
                old = buffers[k] if buffers[k] is not None else torch.zeros_like(g)
                if buffers[k] is None:
                    buffers[k] = (1 - dampening) * g if mistake == "first_momentum_step" else g.clone()
                else:
                    buffers[k] = momentum * buffers[k] + (1 - dampening) * g
                if nesterov and mistake == "nesterov_old_buffer":
                    g = g + momentum * old  # the look-ahead taken before this step's update of the buffer
                elif nesterov:
                    g = buffers[k] + momentum * g if mistake == "nesterov_formula" else g + momentum * buffers[k]
                else:
                    g = buffers[k]
            if decay and mistake == "weight_decay_place":
                g = g + decay * p
            p.sub_(lr * g)
        trajectory.append([p.clone() for p in params])
    return trajectory


MISTAKES = {  # catalog key: the forms (mistaken_trajectory's `mistake`) it takes
    "first_momentum_step": ["first_momentum_step"], "nesterov_formula": ["nesterov_formula", "nesterov_old_buffer"],
    "weight_decay_place": ["weight_decay_place"], "maximize_ignored": ["maximize_ignored"]}


def run(student, rng, hparams, n_steps=4, none_pattern=None, as_generator=False, accumulate=False):
    dtype = rng.dtype()
    params = [rng.randn(rng.int(1, 4), rng.int(1, 3), dtype=dtype), rng.randn(rng.int(1, 4), dtype=dtype)]
    steps = []
    for s in range(n_steps):
        missing = none_pattern(s) if none_pattern else set()
        steps.append([None if k in missing else rng.randn(*p.shape, dtype=dtype) for k, p in enumerate(params)])
    case = Case(label("SGD", params, steps, hparams, as_generator, accumulate))
    mistakes = {} if accumulate else {key: (lambda key=key: [mistaken_trajectory(params, steps, hparams, form)
                                                             for form in MISTAKES[key]]) for key in MISTAKES}
    check_trajectory(student, case, "optim", "SGD", params, steps, hparams,
                     lambda copies: eager(torch.optim.SGD)(copies, **hparams), as_generator, accumulate, mistakes)


@pytest.mark.parametrize("i", range(3))
def test_plain(student, rng, i):
    run(student, rng, {"lr": [0.1, 0.01, 0.5][i]}, as_generator=i == 2)


@pytest.mark.parametrize("i", range(4))
def test_momentum(student, rng, i):
    # the last case: the buffer must be a copy, or the gradient's next accumulation changes it
    run(student, rng, {"lr": 0.1, "momentum": [0.9, 0.5, 0.9, 0.9][i], "dampening": [0.0, 0.0, 0.3, 0.0][i]},
        accumulate=i == 3)


@pytest.mark.parametrize("i", range(2))
def test_nesterov(student, rng, i):
    run(student, rng, {"lr": 0.05, "momentum": [0.9, 0.7][i], "nesterov": True})


@pytest.mark.parametrize("i", range(2))
def test_weight_decay(student, rng, i):
    hparams = {"lr": 0.1, "weight_decay": 0.01}
    if i:
        hparams.update(momentum=0.8, dampening=0.1)
    run(student, rng, hparams)


@pytest.mark.parametrize("i", range(2))
def test_maximize(student, rng, i):
    hparams = {"lr": 0.1, "maximize": True}
    if i:
        hparams.update(momentum=0.9, weight_decay=0.1)
    run(student, rng, hparams, accumulate=i == 1)  # step() must leave p.grad as it was


@pytest.mark.parametrize("i", range(2))
def test_none_grads(student, rng, i):
    # parameter 1 has no gradient on the first steps: it is skipped, and its momentum
    # buffer starts when its first gradient arrives
    run(student, rng, {"lr": 0.1, "momentum": 0.9 if i else 0}, n_steps=4,
        none_pattern=lambda s: {1} if s < 2 else ({0} if s == 3 else set()))


# (number of parameters, arguments): torch decides which of these are invalid
ARGUMENTS = [
    (1, {"lr": -0.1}), (1, {"lr": 0.1, "momentum": -0.5}), (1, {"lr": 0.1, "weight_decay": -1e-4}),
    (1, {"lr": 0.1, "nesterov": True}), (1, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "nesterov": True}),
    (0, {"lr": 0.1}),
    (1, {"lr": 0.1, "momentum": 0.9, "nesterov": True}), (1, {"lr": 0.0, "momentum": 0.9, "dampening": 0.5}),
]


@pytest.mark.parametrize("n_params, hparams", ARGUMENTS, ids=arguments_id)
def test_invalid_arguments(student, n_params, hparams):
    check_arguments(student, "optim", "SGD", torch.optim.SGD, n_params, hparams)
