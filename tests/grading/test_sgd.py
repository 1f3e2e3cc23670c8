"""Grading tests for the sgd exercise: trajectories against torch.optim.SGD, step for step."""
import pytest
import torch

from kit.cases import Case, describe
from kit.compare import expect_close, expect_result, fail
from kit.worker.shared import Region

pytestmark = pytest.mark.exercise("sgd")


def torch_trajectory(params, steps, hparams, accumulate=False):
    copies = [p.clone() for p in params]
    opt = torch.optim.SGD(copies, **hparams)
    trajectory = []
    for grads in steps:
        for p, g in zip(copies, grads):
            if accumulate and p.grad is not None:
                if g is not None:
                    p.grad.add_(g)  # as loss.backward() adds, when nothing zeroed the gradients
            else:
                p.grad = None if g is None else g.clone()
        opt.step()
        trajectory.append([p.clone() for p in copies])
    return trajectory


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
                if buffers[k] is None:
                    buffers[k] = (1 - dampening) * g if mistake == "first_momentum_step" else g.clone()
                else:
                    buffers[k] = momentum * buffers[k] + (1 - dampening) * g
                if nesterov:
                    g = buffers[k] + momentum * g if mistake == "nesterov_formula" else g + momentum * buffers[k]
                else:
                    g = buffers[k]
            if decay and mistake == "weight_decay_place":
                g = g + decay * p
            p.sub_(lr * g)
        trajectory.append([p.clone() for p in params])
    return trajectory


MISTAKES = ["first_momentum_step", "nesterov_formula", "weight_decay_place", "maximize_ignored"]


def run(student, rng, hparams, n_steps=4, none_pattern=None, as_generator=False, accumulate=False):
    dtype = rng.dtype()
    params = [rng.randn(rng.int(1, 4), rng.int(1, 3), dtype=dtype), rng.randn(rng.int(1, 4), dtype=dtype)]
    steps = []
    for s in range(n_steps):
        missing = none_pattern(s) if none_pattern else set()
        steps.append([None if k in missing else rng.randn(*p.shape, dtype=dtype) for k, p in enumerate(params)])
    label = f"SGD({', '.join(f'{k}={v!r}' for k, v in hparams.items())}) on params {describe(p0=params[0], p1=params[1])}, {n_steps} steps"
    if none_pattern:
        label += ", some grads None: " + "; ".join(
            f"step {s + 1}: {[k for k, g in enumerate(st) if g is None]}" for s, st in enumerate(steps))
    if as_generator:
        label += ", params given as a generator"
    if accumulate:
        label += ", gradients accumulating in place between steps (no zero_grad)"
    case = Case(label)
    lent = Region(params)  # the parameters live in memory the grader reads after every step
    trajectory = []

    def callbacks(name, args):
        if name != "stepped":
            return {"error": f"unknown call back {name!r}"}
        trajectory.append([lent.now(k) for k in range(len(params))])
        return {"result": None}
    got = expect_result(student.run("sgd_steps", ["optim"], case, lend=lent, callbacks=callbacks, params=lent.lent(),
                                    steps=steps, hparams=hparams, as_generator=as_generator, accumulate=accumulate),
                        ["steps"], case)
    expected = torch_trajectory(params, steps, hparams, accumulate)
    if got["steps"] != len(expected) or len(trajectory) != len(expected):
        expect_result(None, ["steps"], case)  # the driver reports every step: this is tampering
    variants = {}

    def mistaken(key, s, k):
        if key not in variants:
            variants[key] = mistaken_trajectory(params, steps, hparams, key)
        return variants[key][s][k]
    for s, (g_step, e_step) in enumerate(zip(trajectory, expected)):
        for k, (g, e) in enumerate(zip(g_step, e_step)):
            if s == 0 and torch.equal(g, params[k]) and not torch.equal(e, params[k]):
                fail(f"parameter {k} was unchanged after step 1 (the grader reads its memory: it still holds the "
                     "starting values): either step() skipped it, or it gave the parameter new memory (p = p - ..., "
                     "p.data = ...) instead of updating it in place (p.add_(...), p -= ...)", case)
            expect_close(g, e, f"parameter {k} after step {s + 1}", case,
                         {} if accumulate else {key: (lambda key=key, s=s, k=k: mistaken(key, s, k)) for key in MISTAKES})


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


@pytest.mark.parametrize("n_params, hparams", ARGUMENTS,
                         ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) if isinstance(a, dict) else f"{a}params")
def test_invalid_arguments(student, n_params, hparams):
    params = [torch.zeros(2) for _ in range(n_params)]
    case = Case(f"SGD({'[p]' if n_params else '[]'}, {', '.join(f'{k}={v!r}' for k, v in hparams.items())})")
    try:
        torch.optim.SGD([p.clone() for p in params], **hparams)
        torch_raises = False
    except ValueError:
        torch_raises = True
    got = expect_result(student.run("sgd_construct", ["optim"], case, params=params, hparams=hparams),
                        ["raised", "message"], case)
    if torch_raises and got["raised"] is None:
        fail("SGD.__init__ should raise ValueError for these arguments, as torch.optim.SGD does", case)
    if not torch_raises and got["raised"] is not None:
        fail(f"SGD.__init__ raised ValueError ({got['message']}) for arguments torch.optim.SGD accepts", case)
