"""Scenarios the worker plays with student code; each returns plain data for the grader.

A driver only exercises student code and reports what happened. It never judges:
the grader compares what comes back with torch, in a process student code never touched.
`load(module)` imports a student module; `pick(load, module, name)` fetches one name.
"""
import torch
import torch.nn.functional as F


class MissingName(Exception):
    pass


def pick(load, module, name):
    mod = load(module)
    obj = mod
    for part in name.split("."):
        if not hasattr(obj, part):
            raise MissingName(f"{module}.py has no `{name}`: define it with exactly this name")
        obj = getattr(obj, part)
    return obj


def _clone(x):
    return None if x is None else x.clone()


def call(load, module, name, args=(), kwargs=None):
    return pick(load, module, name)(*args, **(kwargs or {}))


# forward and backward -------------------------------------------------------

def mlp_forward(load, params, x):
    MLP = pick(load, "forward", "MLP")
    model = MLP(*params)
    got = list(model.parameters())
    return {"parameters_are_inputs": len(got) == 4 and all(a is b for a, b in zip(got, params)),
            "n_parameters": len(got), "forward": model.forward(x), "call": model(x)}


def mlp_backward(load, params, x, grad_output, initial_grads):
    mod = load("forward")
    # This test grades the backward pass only: the forward pieces are torch's own.
    saved = {name: getattr(mod, name) for name in ("linear", "relu") if hasattr(mod, name)}
    mod.linear, mod.relu = F.linear, torch.relu
    try:
        model = pick(load, "forward", "MLP")(*params)
        for p, g in zip(params, initial_grads):
            p.grad = _clone(g)
        model(x)
        grad_x = model.backward(grad_output)
    finally:
        for name, value in saved.items():
            setattr(mod, name, value)
    return {"grad_input": grad_x, "grads": [p.grad for p in params]}


def loss_forward(load, cls, input, target):
    criterion = pick(load, "loss", cls)()
    return {"forward": criterion.forward(input, target), "call": criterion(input, target)}


def loss_backward(load, cls, input, target):
    criterion = pick(load, "loss", cls)()
    criterion(input, target)
    return criterion.backward()


# zero_grad and sgd ------------------------------------------------------------

def _with_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = _clone(g)
    return [p.grad for p in params]


def zero_grad(load, params, grads, set_to_none, as_generator, via_optimizer):
    before = _with_grads(params, grads)
    given = (p for p in params) if as_generator else params
    kwargs = {} if set_to_none is None else {"set_to_none": set_to_none}
    if via_optimizer:
        pick(load, "optim", "SGD")(given).zero_grad(**kwargs)
    else:
        pick(load, "optim", "zero_grad")(given, **kwargs)
    return {"grads": [p.grad for p in params],
            "same_object": [p.grad is b for p, b in zip(params, before)],
            "params": params}


def sgd_steps(load, params, steps, hparams, as_generator):
    opt = pick(load, "optim", "SGD")((p for p in params) if as_generator else params, **hparams)
    trajectory = []
    for grads in steps:
        _with_grads(params, grads)
        opt.step()
        trajectory.append([p.clone() for p in params])
    return {"trajectory": trajectory}


def sgd_construct(load, params, hparams):
    try:
        pick(load, "optim", "SGD")(params, **hparams)
    except ValueError as e:
        return {"raised": "ValueError", "message": str(e)}
    return {"raised": None, "message": ""}


# training loop: torch-backed stand-ins, so only the loop itself is graded ----------

class _Log(list):
    pass


class StandInMLP:
    def __init__(self, params, log):
        self.params, self.log = [p.requires_grad_() for p in params], log

    def parameters(self):
        return iter(self.params)

    def forward(self, x):
        self.log.append("forward")
        self.x = x
        self.out = F.linear(torch.relu(F.linear(x, *self.params[:2])), *self.params[2:])
        return self.out.detach()

    __call__ = forward

    def backward(self, grad_output):
        self.log.append("backward")
        self.out.backward(grad_output)  # accumulates, as loss.backward() does


class StandInMSE:
    def __init__(self, log):
        self.log = log

    def forward(self, input, target):
        self.log.append("loss")
        self.diff = input - target
        return (self.diff ** 2).mean()

    __call__ = forward

    def backward(self):
        self.log.append("loss.backward")
        return 2 * self.diff / self.diff.numel()


class StandInSGD:
    """torch.optim.SGD(params, lr, momentum)'s arithmetic. Not torch.optim itself: its first
    use imports torch._dynamo, which would cost every fresh worker two seconds."""

    def __init__(self, params, lr, momentum, log):
        self.params, self.lr, self.momentum, self.log = params, lr, momentum, log
        self.buffers = [None] * len(params)

    def zero_grad(self, set_to_none=True):
        self.log.append("zero_grad")
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        self.log.append("step")
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad
            if self.momentum:
                if self.buffers[i] is None:
                    self.buffers[i] = g.clone()
                else:
                    self.buffers[i].mul_(self.momentum).add_(g)
                g = self.buffers[i]
            p.add_(g, alpha=-self.lr)


def train(load, params, stale_grads, batches, num_epochs, lr, momentum):
    log = _Log()
    model = StandInMLP(params, log)
    for p, g in zip(model.params, stale_grads):
        p.grad = _clone(g)  # left over from earlier work: the loop must clear it
    losses = pick(load, "training_loop", "train")(
        model, StandInMSE(log), StandInSGD(model.params, lr, momentum, log), list(batches), num_epochs)
    return {"losses": losses, "log": list(log), "params": [p.detach() for p in model.params]}


DRIVERS = {f.__name__: f for f in (call, mlp_forward, mlp_backward, loss_forward, loss_backward,
                                    zero_grad, sgd_steps, sgd_construct, train)}
