"""Scenarios the worker plays with student code; each returns plain data for the grader.

A driver only exercises student code and reports what it computed. It never judges, and
reports no fact about how the values came about: student code runs in this process and
could rewrite anything here. What decides points beyond the values is observed by the
grader itself -- tensors it lends by memory (shared.py), whose in-place changes it reads,
and the stand-ins for other exercises, which live in the grader and are called back
(GRADER), so the order of calls is the grader's own record.
`load(module)` imports a student module; `pick(load, module, name)` fetches one name.
"""
import torch
import torch.nn.functional as F

import wire


class Grader:
    """Calls back into the grader during one request."""

    def __init__(self, conn, seq):
        self.conn, self.seq = conn, seq

    def __call__(self, name, **args):
        wire.send(self.conn, wire.dumps({"seq": self.seq, "callback": name, "args": args}))
        reply = wire.loads(wire.recv(self.conn))
        if reply.get("error") is not None:
            raise RuntimeError(str(reply["error"]))
        return reply.get("result")


GRADER = None  # set for each request by the worker's loop


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
    """params: lent. After the first forward the grader writes `changed` into their memory:
    a model that kept the very tensors it was given computes with the new values."""
    MLP = pick(load, "forward", "MLP")
    model = MLP(*params)
    got = list(model.parameters())
    forward, call = model.forward(x), model(x)
    GRADER("change_parameters")
    return {"parameters": got, "forward": forward, "call": call, "after_change": model(x)}


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
        p.grad = g
    return [p.grad for p in params]


def zero_grad(load, params, grads, set_to_none, as_generator, via_optimizer):
    """params and grads: lent, so the grader sees for itself what was zeroed in place."""
    _with_grads(params, grads)
    given = (p for p in params) if as_generator else params
    kwargs = {} if set_to_none is None else {"set_to_none": set_to_none}
    if via_optimizer:
        pick(load, "optim", "SGD")(given).zero_grad(**kwargs)
    else:
        pick(load, "optim", "zero_grad")(given, **kwargs)
    return {"grads": [p.grad for p in params]}


def sgd_steps(load, params, steps, hparams, as_generator, accumulate=False):
    """params: lent; after each step the grader reads them from its own memory.
    accumulate: gradients add into the existing .grad in place, as loss.backward() does
    without zero_grad (a step that changes p.grad, or keeps it as its buffer, then shows)."""
    opt = pick(load, "optim", "SGD")((p for p in params) if as_generator else params, **hparams)
    for grads in steps:
        if accumulate:
            for p, g in zip(params, grads):
                if g is not None:
                    if p.grad is None:
                        p.grad = g.clone()
                    else:
                        p.grad.add_(g)
        else:
            _with_grads(params, [_clone(g) for g in grads])
        opt.step()
        GRADER("stepped")
    return {"steps": len(steps)}


def sgd_construct(load, params, hparams):
    try:
        pick(load, "optim", "SGD")(params, **hparams)
    except ValueError as e:
        return {"raised": "ValueError", "message": str(e)}
    return {"raised": None, "message": ""}


# training loop: stand-ins that live in the grader, so only the loop itself is graded ------

class _Remote:
    """model, criterion or optimizer: each call is made by the grader, which keeps the log."""

    def __init__(self, role):
        self._role = role


class RemoteModel(_Remote):
    def forward(self, x):
        return GRADER("forward", x=x)

    def __call__(self, x):
        return self.forward(x)

    def backward(self, grad_output):
        return GRADER("backward", grad_output=grad_output)


class RemoteLoss(_Remote):
    def forward(self, input, target):
        return GRADER("loss", input=input, target=target)

    def __call__(self, input, target):
        return self.forward(input, target)

    def backward(self):
        return GRADER("loss.backward")


class RemoteOptimizer(_Remote):
    def zero_grad(self, set_to_none=True):
        return GRADER("zero_grad", set_to_none=set_to_none)

    def step(self):
        return GRADER("step")


def train(load, batches, num_epochs):
    losses = pick(load, "training_loop", "train")(
        RemoteModel("model"), RemoteLoss("criterion"), RemoteOptimizer("optimizer"), list(batches), num_epochs)
    return {"losses": losses}


DRIVERS = {f.__name__: f for f in (call, mlp_forward, mlp_backward, loss_forward, loss_backward,
                                    zero_grad, sgd_steps, sgd_construct, train)}
