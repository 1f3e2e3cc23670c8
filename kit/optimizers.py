"""Grading an optimizer (any class with __init__(params, **hparams), step() and zero_grad())
against torch.optim, for the grading tests of sgd, zero_grad, adam, ...

The worker side is three generic drivers (kit/worker/drivers.py: optimizer_steps,
optimizer_construct, zero_grad), told the student module and class by name. The parameters
are lent by memory (kit/worker/shared.py): after every step() the worker calls back
"stepped", and the grader reads the parameters from its own memory -- so an update that
binds new tensors instead of changing the model's own is seen, not reported.
"""
import inspect

import torch

from .cases import Case, describe
from .results import Reason
from . import messages as M
from .compare import expect_close, expect_result, fail, named
from .worker.shared import Region


_EAGER = {}


def eager(cls):
    """torch.optim's optimizer class `cls`, as eager code runs it, without the torch._dynamo hooks
    on its methods -- the references of the grading tests use this instead of `cls` itself.

    The first call of step(), zero_grad() or even the constructor (add_param_group) imports
    torch._dynamo: a core-second of start-up for the grader, for hooks that do nothing outside
    torch.compile (a graph break, a do-not-compile mark). The subclass runs the very functions
    those hooks wrap (functools.wraps keeps them as __wrapped__), step() in the grad mode torch's
    wrapper sets, so every number is torch.optim's own; torch's step hooks and profiling still
    wrap it as they wrap cls.step. Where a torch release lays these methods out otherwise, `cls`
    itself is returned (correct, only slower)."""
    if cls in _EAGER.values():
        return cls
    if cls not in _EAGER:
        from torch.optim.optimizer import Optimizer
        methods = {name: inspect.unwrap(getattr(Optimizer, name)) for name in ("zero_grad", "add_param_group")}
        step = inspect.unwrap(cls.step)  # under torch's hook (once an instance exists) and its grad-mode wrapper
        if any(f is getattr(Optimizer, name) for name, f in methods.items()) or step is cls.step:
            _EAGER[cls] = cls
        else:
            def eager_step(self, *args, **kwargs):
                with torch.set_grad_enabled(self.defaults["differentiable"]):
                    return step(self, *args, **kwargs)
            _EAGER[cls] = type(cls.__name__, (cls,), {**methods, "step": eager_step, "__doc__": cls.__doc__,
                                                      "__module__": __name__})
    return _EAGER[cls]


def hparams_text(hparams):
    return ", ".join(f"{k}={v!r}" for k, v in hparams.items())


def label(cls, params, steps, hparams, as_generator=False, accumulate=False):
    """'SGD(lr=0.1) on params p0 2x3 float64, p1 2 float64, 4 steps, ...': the case, in words."""
    text = f"{cls}({hparams_text(hparams)}) on params " \
           f"{describe(**{f'p{k}': p for k, p in enumerate(params)})}, {len(steps)} steps"
    if any(g is None for grads in steps for g in grads):
        text += ", some grads None: " + "; ".join(
            f"step {s + 1}: {[k for k, g in enumerate(st) if g is None]}" for s, st in enumerate(steps))
    if as_generator:
        text += ", params given as a generator"
    if accumulate:
        text += ", gradients accumulating in place between steps (no zero_grad)"
    return text


def effective_grads(steps, accumulate):
    """The .grad each step() sees: the step's gradients, or with accumulate (no zero_grad
    between steps) the running sum of every gradient so far, as loss.backward() adds."""
    if not accumulate:
        return steps
    running, out = [None] * len(steps[0]) if steps else [], []
    for grads in steps:
        running = [r if g is None else (g.clone() if r is None else r + g) for r, g in zip(running, grads)]
        out.append(list(running))
    return out


def torch_trajectory(make, params, steps, accumulate=False):
    """The parameters after every step of `make(copies)`, a torch.optim optimizer."""
    copies = [p.clone() for p in params]
    opt = make(copies)
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


def check_trajectory(student, case, module, cls, params, steps, hparams, make, as_generator=False,
                     accumulate=False, mistakes=None):
    """Run cls(params, **hparams) of the student's `module` for len(steps) steps and compare the
    parameters after every step with torch's (`make(copies)` builds torch's optimizer).

    mistakes: {catalog key: function giving the trajectories that mistake can produce here (a list
    of forms, each a list of steps, each a list of parameters)}; called only when a value is off.
    """
    lent = Region(params)  # the parameters live in memory the grader reads after every step
    trajectory, grad_changed = [], []

    def callbacks(name, args):
        if name != "stepped":
            return {"error": f"unknown call back {name!r}"}
        trajectory.append([lent.now(k) for k in range(len(params))])
        grad_changed.append(args.get("grad_changed") or [])
        return {"result": None}
    got = expect_result(student.run("optimizer_steps", [module], case, lend=lent, callbacks=callbacks,
                                    module=module, cls=cls, params=lent.lent(), steps=steps, hparams=hparams,
                                    as_generator=as_generator, accumulate=accumulate),
                        ["steps"], case)
    expected = torch_trajectory(make, params, steps, accumulate)
    if got["steps"] != len(expected) or len(trajectory) != len(expected):
        expect_result(None, ["steps"], case)  # the driver reports every step: this is tampering
    forms = {}

    def mistaken(key, s, k):
        if key not in forms:
            forms[key] = mistakes[key]()
        return [form[s][k] for form in forms[key]]
    for s, (g_step, e_step) in enumerate(zip(trajectory, expected)):
        if grad_changed[s] and isinstance(grad_changed[s], list):
            fail(M.GRAD_CHANGED_BY_STEP.format(k=grad_changed[s][0], step=s + 1, cls=cls), case, Reason.CHANGED_INPUT)
        for k, (g, e) in enumerate(zip(g_step, e_step)):
            if s == 0 and torch.equal(g, params[k]) and not torch.equal(e, params[k]):
                fail(f"parameter {k} was unchanged after step 1 (the grader reads its memory: it still holds the "
                     "starting values): either step() skipped it, or it gave the parameter new memory (p = p - ..., "
                     "p.data = ...) instead of updating it in place (p.add_(...), p -= ...)", case)
            expect_close(g, e, f"parameter {k} after step {s + 1}", case,
                         {key: (lambda key=key, s=s, k=k: mistaken(key, s, k)) for key in (mistakes or {})})


def check_arguments(student, module, cls, torch_cls, n_params, hparams):
    """cls(params, **hparams) must raise ValueError exactly when torch_cls does."""
    params = [torch.zeros(2) for _ in range(n_params)]
    case = Case(f"{cls}({'[p]' if n_params else '[]'}, {hparams_text(hparams)})")
    try:
        eager(torch_cls)([p.clone() for p in params], **hparams)
        torch_raises = False
    except ValueError:
        torch_raises = True
    got = expect_result(student.run("optimizer_construct", [module], case, module=module, cls=cls, params=params,
                                    hparams=hparams),
                        ["raised", "message"], case)
    where = f"torch.optim.{torch_cls.__name__}"
    if torch_raises and got["raised"] is None:
        fail(f"{cls}.__init__ should raise ValueError for these arguments, as {where} does", case)
    if not torch_raises and got["raised"] is not None:
        fail(f"{cls}.__init__ raised ValueError ({got['message']}) for arguments {where} accepts", case)
    if not torch_raises:  # accepted: then it must also work with them (two steps, as torch's)
        grads = [[torch.linspace(-1.0, 1.0, 2, dtype=p.dtype) for p in params] for _ in range(2)]
        check_trajectory(student, case, module, cls, [torch.linspace(0.5, 1.5, 2) for _ in params], grads, hparams,
                         lambda copies: eager(torch_cls)(copies, **hparams))


def arguments_id(value):
    """pytest ids for ([cls,] n_params, hparams) cases."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ",".join(f"{k}={str(v).replace(' ', '')}" for k, v in value.items())
    return f"{value}params"


def check_zero_grad(student, rng, module, cls, set_to_none, as_generator, torch_cls=torch.optim.SGD, hparams=None):
    """The module's zero_grad(params, ...) (cls None) or cls(params, **hparams).zero_grad(...), on
    three parameters whose grads are [tensor, None, tensor], against torch.optim's zero_grad."""
    dtype = rng.dtype()
    params = [rng.randn(rng.int(1, 4), rng.int(1, 3), dtype=dtype) for _ in range(3)]
    grads = [None if k == 1 else rng.randn(*p.shape, dtype=dtype) for k, p in enumerate(params)]
    arg = "" if set_to_none is None else f"set_to_none={set_to_none}"
    call = f"zero_grad(params{', ' * bool(arg)}{arg})" if cls is None else \
        f"{cls}(params{', ' if hparams else ''}{hparams_text(hparams or {})}).zero_grad({arg})"
    case = Case(f"{call} on 3 parameters whose grads are [tensor, None, tensor]"
                + (", params given as a generator" if as_generator else ""))
    # parameters and gradients live in memory the grader reads back itself
    lent = Region(params + [g for g in grads if g is not None])
    where = {}  # parameter k -> index of its gradient in `lent`
    for k, g in enumerate(grads):
        if g is not None:
            where[k] = len(params) + len(where)
    got = expect_result(student.run("zero_grad", [module], case, lend=lent, module=module, cls=cls,
                                    params=lent.lent()[:len(params)],
                                    grads=[lent[where[k]] if k in where else None for k in range(len(grads))],
                                    set_to_none=set_to_none, as_generator=as_generator, hparams=hparams),
                        ["grads"], case)
    expected = torch_zero_grad(torch_cls, params, grads, set_to_none)
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


def torch_zero_grad(torch_cls, params, grads, set_to_none):
    """What torch.optim does: run a real optimizer's zero_grad on copies."""
    copies = [p.clone() for p in params]
    for p, g in zip(copies, grads):
        p.grad = None if g is None else g.clone()
    kwargs = {} if set_to_none is None else {"set_to_none": set_to_none}
    eager(torch_cls)(copies, lr=0.1).zero_grad(**kwargs)
    return [p.grad for p in copies]
