"""Grading tests for the adam exercise: trajectories against torch.optim.Adam and AdamW, step for step.

Every trajectory test runs its cases in float32 and in float64 (torch.optim with foreach and
fused off, as on the CPU by default), compared with kit/compare.py's tolerances: a parameter
passes when |got - torch| <= atol * max(1, max |torch|) + rtol * |torch|, with
float32 rtol 1e-4, atol 1e-5 and float64 rtol 1e-10, atol 1e-12.

The cases are chosen so that every known mistake moves some parameter by far more than
that, in float32 as well as float64 (on step 1 already, unless said otherwise):
- no bias correction: the first update is off by a factor 1/(1 - beta1) * sqrt(1 - beta2)
  (0.32 with the defaults, 0.5 with betas (0.8, 0.99)): about lr >= 0.05 per coordinate
  (with betas (0.9, 0.99), in test_amsgrad, the factors cancel on step 1: it shows from step 2);
- one step count for all parameters: parameter 1 has no gradient on steps 1 and 2, so its
  own t is 1 on step 3 where a shared count says 3: about 0.35 * lr = 0.035 (test_none_grads);
- weight decay mixed up (L2 in AdamW, decoupled in Adam): lr * weight_decay = 5e-3 of each
  parameter per step (1e-3 with AdamW's default decay at lr=0.1): 10 to 50 times rtol;
- eps inside the square root: eps=1e-3 with gradients of size 0.01, where sqrt(v) + eps is
  0.011 and sqrt(v + eps) is 0.033: the update changes by half of lr (test_eps);
- maximize ignored: the update changes sign, 2 * lr.
"""
import math

import pytest
import torch

from kit.cases import Case
from kit.optimizers import (arguments_id, check_arguments, check_trajectory, check_zero_grad, eager,
                            effective_grads, label)

pytestmark = pytest.mark.exercise("adam")

F32, F64 = torch.float32, torch.float64
TORCH = {"Adam": eager(torch.optim.Adam), "AdamW": eager(torch.optim.AdamW)}  # torch.optim's, minus torch._dynamo


def written_out(params, steps, hparams, decoupled, correct_m=True, correct_v=True, count="own", eps_place="torch",
                maximize=None):
    """torch's Adam (decoupled=False) or AdamW arithmetic, written out, with the knobs of the known
    mistakes; `steps` are the gradients each step() sees. Returns the parameters after every step."""
    lr, (beta1, beta2), eps = hparams.get("lr", 1e-3), hparams.get("betas", (0.9, 0.999)), hparams.get("eps", 1e-8)
    decay = hparams.get("weight_decay", 0)
    amsgrad = hparams.get("amsgrad", False)
    maximize = hparams.get("maximize", False) if maximize is None else maximize
    params = [p.clone() for p in params]
    m, v, v_max = ([torch.zeros_like(p) for p in params] for _ in range(3))
    own, calls, updates, trajectory = [0] * len(params), 0, 0, []
    for grads in steps:
        calls += 1
        for k, (p, g) in enumerate(zip(params, grads)):
            if g is None:
                continue
            g = -g if maximize else g
            own[k] += 1
            updates += 1
            t = {"own": own[k], "per_call": calls, "per_update": updates}[count]
            if decay:
                if decoupled:
                    p.mul_(1 - lr * decay)
                else:
                    g = g + decay * p
            m[k] = m[k].lerp(g, 1 - beta1)
            v[k] = v[k] * beta2 + (1 - beta2) * g * g
            used = v[k]
            if amsgrad:
                v_max[k] = torch.maximum(v_max[k], v[k])
                used = v_max[k]
            c1 = 1 - beta1 ** t if correct_m else 1.0
            c2 = 1 - beta2 ** t if correct_v else 1.0
            if eps_place == "inside":
                denom = (used / c2 + eps).sqrt()
            elif eps_place == "before_correction":
                denom = (used.sqrt() + eps) / math.sqrt(c2)
            else:
                denom = used.sqrt() / math.sqrt(c2) + eps
            p.sub_(lr / c1 * m[k] / denom)
        trajectory.append([p.clone() for p in params])
    return trajectory


def known_mistakes(cls, params, steps, hparams, accumulate):
    """{catalog key: the trajectories that mistake gives on this case}, computed only when asked."""
    seen = effective_grads(steps, accumulate)
    decoupled = cls == "AdamW"
    given = dict(hparams, weight_decay=hparams.get("weight_decay", 1e-2 if decoupled else 0))  # AdamW's default

    def forms(*variants):
        return lambda: [written_out(params, seen, given, decoupled, **kw) for kw in variants]
    mistakes = {
        "adam_bias_correction": forms({"correct_m": False, "correct_v": False}, {"correct_m": False},
                                      {"correct_v": False}),
        "adam_shared_step": forms({"count": "per_call"}, {"count": "per_update"}),
        "adam_eps_place": forms({"eps_place": "inside"}, {"eps_place": "before_correction"}),
    }
    if given["weight_decay"]:
        key = "adamw_l2_decay" if decoupled else "adam_decoupled_decay"
        mistakes[key] = lambda: [written_out(params, seen, given, not decoupled)]
    if hparams.get("maximize"):
        mistakes["maximize_ignored"] = forms({"maximize": False})
    return mistakes


def run(student, rng, cls, hparams, dtype, n_steps=5, scale=1.0, smaller_from=None, none_pattern=None,
        as_generator=False, accumulate=False):
    """cls(params, **hparams) for n_steps steps on two random parameters, against torch.
    scale: the gradients' size; smaller_from: from this step (1-based) on, gradients 10 times smaller."""
    params = [rng.randn(rng.int(2, 4), rng.int(2, 3), dtype=dtype), rng.randn(rng.int(1, 4), dtype=dtype)]
    steps = []
    for s in range(n_steps):
        missing = none_pattern(s) if none_pattern else set()
        size = scale * (0.1 if smaller_from and s + 1 >= smaller_from else 1.0)
        steps.append([None if k in missing else rng.randn(*p.shape, dtype=dtype, scale=size)
                      for k, p in enumerate(params)])
    text = label(cls, params, steps, hparams, as_generator, accumulate)
    if scale != 1.0:
        text += f", gradients of size about {scale:g}"
    if smaller_from:
        text += f", gradients 10 times smaller from step {smaller_from} on"
    check_trajectory(student, Case(text), "adam", cls, params, steps, hparams,
                     lambda copies: TORCH[cls](copies, **hparams, foreach=False), as_generator, accumulate,
                     known_mistakes(cls, params, steps, hparams, accumulate))


@pytest.mark.parametrize("i", range(4))
def test_adam(student, rng, i):
    hparams = [{"lr": 0.1}, {"lr": 0.05, "betas": (0.8, 0.99)}][i // 2]
    run(student, rng, "Adam", hparams, [F32, F64][i % 2], as_generator=i == 2)


@pytest.mark.parametrize("i", range(4))
def test_adamw(student, rng, i):
    # the last two: AdamW's own default weight_decay (1e-2)
    hparams = [{"lr": 0.05, "weight_decay": 0.1}, {"lr": 0.1}][i // 2]
    run(student, rng, "AdamW", hparams, [F32, F64][i % 2])


@pytest.mark.parametrize("i", range(2))
def test_weight_decay(student, rng, i):
    run(student, rng, "Adam", {"lr": 0.05, "weight_decay": 0.1}, [F32, F64][i])


@pytest.mark.parametrize("i", range(4))
def test_amsgrad(student, rng, i):
    # smaller gradients later: v falls below its maximum, which amsgrad keeps
    cls = ["Adam", "AdamW"][i // 2]
    hparams = {"lr": 0.05, "betas": (0.9, 0.99), "amsgrad": True}
    if cls == "AdamW":
        hparams["weight_decay"] = 0.1
    run(student, rng, cls, hparams, [F32, F64][i % 2], smaller_from=3)


@pytest.mark.parametrize("i", range(2))
def test_eps(student, rng, i):
    run(student, rng, "Adam", {"lr": 0.1, "eps": 1e-3}, [F32, F64][i], scale=0.01)


@pytest.mark.parametrize("i", range(2))
def test_maximize(student, rng, i):
    # the second: gradients accumulate between steps, so step() must leave p.grad as it was
    hparams = [{"lr": 0.1, "maximize": True}, {"lr": 0.05, "weight_decay": 0.1, "maximize": True}][i]
    run(student, rng, ["Adam", "AdamW"][i], hparams, [F32, F64][i], accumulate=i == 1)


@pytest.mark.parametrize("i", range(2))
def test_none_grads(student, rng, i):
    # parameter 1 has no gradient on steps 1 and 2, parameter 0 none on step 4: a parameter
    # without one is skipped entirely, and its own step count starts with its first gradient
    hparams = [{"lr": 0.1}, {"lr": 0.05, "weight_decay": 0.1}][i]
    run(student, rng, ["Adam", "AdamW"][i], hparams, [F32, F64][i],
        none_pattern=lambda s: {1} if s < 2 else ({0} if s == 3 else set()))


@pytest.mark.parametrize("cls, set_to_none, as_generator", [("Adam", None, False), ("AdamW", False, True)])
def test_zero_grad(student, rng, cls, set_to_none, as_generator):
    check_zero_grad(student, rng, "adam", cls, set_to_none, as_generator, torch_cls=TORCH[cls])


# (class, number of parameters, arguments): torch decides which of these are invalid
ARGUMENTS = [
    ("Adam", 1, {"lr": -0.01}), ("Adam", 1, {"eps": -1e-8}), ("Adam", 1, {"betas": (1.0, 0.999)}),
    ("Adam", 1, {"betas": (0.9, -0.1)}), ("Adam", 1, {"weight_decay": -0.1}), ("Adam", 0, {}),
    ("AdamW", 1, {"lr": -0.01}), ("AdamW", 1, {"betas": (0.9, 1.0)}), ("AdamW", 1, {"weight_decay": -0.01}),
    ("Adam", 1, {"lr": 0.0, "betas": (0.0, 0.0), "eps": 0.0}),
    ("AdamW", 1, {"weight_decay": 0.0, "amsgrad": True, "maximize": True}),
]


@pytest.mark.parametrize("cls, n_params, hparams", ARGUMENTS, ids=arguments_id)
def test_invalid_arguments(student, cls, n_params, hparams):
    check_arguments(student, "adam", cls, TORCH[cls], n_params, hparams)
