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
        if reply.get("error") is not None:  # "ValueError: ..." is raised as the ValueError it was
            kind, sep, text = str(reply["error"]).partition(": ")
            raise _ERRORS[kind](text) if sep and kind in _ERRORS else RuntimeError(str(reply["error"]))
        return reply.get("result")


_ERRORS = {"ValueError": ValueError, "TypeError": TypeError, "RuntimeError": RuntimeError}


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


# optimizers: any class with __init__(params, **hparams), step() and zero_grad() ----------------
# The grader names the student module and class (module "optim", cls "SGD"; "adam", "AdamW"), so
# an exercise with state -- a new optimizer -- needs no new driver.

def _with_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = g
    return [p.grad for p in params]


def zero_grad(load, module, cls, params, grads, set_to_none, as_generator, hparams=None):
    """params and grads: lent, so the grader sees for itself what was zeroed in place.
    cls None: the module's function zero_grad(params, ...); else cls(params, **hparams).zero_grad(...)."""
    _with_grads(params, grads)
    given = (p for p in params) if as_generator else params
    kwargs = {} if set_to_none is None else {"set_to_none": set_to_none}
    if cls is None:
        pick(load, module, "zero_grad")(given, **kwargs)
    else:
        pick(load, module, cls)(given, **(hparams or {})).zero_grad(**kwargs)
    return {"grads": [p.grad for p in params]}


def optimizer_steps(load, module, cls, params, steps, hparams, as_generator=False, accumulate=False):
    """params: lent; after each step the grader reads them from its own memory.
    accumulate: gradients add into the existing .grad in place, as loss.backward() does
    without zero_grad (a step that changes p.grad, or keeps it as its buffer, then shows)."""
    for p in params:  # as a real model's are: an update outside torch.no_grad() then fails, as it would there
        if p.is_floating_point():
            p.requires_grad_(True)
    opt = pick(load, module, cls)((p for p in params) if as_generator else params, **hparams)
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
        before = [_clone(p.grad) for p in params]
        opt.step()
        # feedback only (it names what went wrong, it earns nothing): which .grad step() changed in place
        changed = [k for k, (p, b) in enumerate(zip(params, before))
                   if b is not None and p.grad is not None and not torch.equal(p.grad, b)]
        GRADER("stepped", grad_changed=changed)
    return {"steps": len(steps)}


def optimizer_construct(load, module, cls, params, hparams):
    try:
        pick(load, module, cls)(params, **hparams)
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


# cnn: the wiring alone -- the parts are torch's own, the network the student's ---------------------
# The convolutions are the grader's (tests/grading/test_cnn.py, TorchConvolutions): torch's convolution
# kernels trust the shapes they are given, so no worker runs them (kit/worker/seal.py).

def _conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return GRADER("conv2d", input=input, weight=weight, bias=bias, stride=stride, padding=padding,
                  dilation=dilation, groups=groups)


def _conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    """What autograd computes for F.conv2d: (grad_input, grad_weight, grad_bias), by torch, in the grader."""
    return tuple(GRADER("conv2d_backward", grad_output=grad_output, input=input, weight=weight, stride=stride,
                        padding=padding, dilation=dilation, groups=groups))


def _linear_backward(grad_output, x, weight):
    g = grad_output.reshape(-1, weight.shape[0])
    return grad_output @ weight, g.T @ x.reshape(-1, weight.shape[1]), g.sum(0)


def _relu_backward(grad_output, x):
    return torch.where(x > 0, grad_output, torch.zeros_like(grad_output))


CNN_PARTS = {"forward": {"linear": F.linear, "relu": torch.relu},
             "backward": {"linear_backward": _linear_backward, "relu_backward": _relu_backward},
             "conv2d": {"conv2d": _conv2d}, "conv2d_backward": {"conv2d_backward": _conv2d_backward}}


def _package():
    """The package student modules are imported as (zygote.PACKAGE): the module with an empty __path__."""
    import sys
    return next(name for name, m in list(sys.modules.items()) if getattr(m, "__path__", None) == [])


def cnn_parts(load):
    """Before cnn.py is imported: a part's module that does not import (a syntax error, a missing
    file) is replaced by a stand-in holding torch's parts, so that cnn.py's own imports work and a
    broken part costs only its own exercise. Returns the modules replaced."""
    import sys
    import types
    replaced = []
    for module, parts in CNN_PARTS.items():
        try:
            load(module)
        except Exception:  # noqa: BLE001 -- whatever the part's module raised
            package = _package()
            stand_in = types.ModuleType(f"{package}.{module}")
            for name, part in parts.items():
                setattr(stand_in, name, part)
            sys.modules[stand_in.__name__] = stand_in
            setattr(sys.modules[package], module, stand_in)
            replaced.append(module)
    return {"replaced": replaced}


class _CrossEntropy:
    """nn.CrossEntropyLoss with its gradient: the grader's, so that cnn grades the wiring alone."""

    def __call__(self, logits, target):
        self.probs, self.target = torch.softmax(logits, dim=1), target
        return F.cross_entropy(logits, target)

    def backward(self):
        grad = self.probs.clone()
        grad[torch.arange(len(self.target)), self.target] -= 1
        return grad / len(self.target)


def _cnn(load, params):
    """The student's CNN over the reference parts: they replace the parts' names in cnn.py and in
    the parts' own modules (a part the student has not finished raises nothing here)."""
    cnn = load("cnn")
    for module, parts in CNN_PARTS.items():
        try:
            mod = load(module)
        except Exception:  # a part's module that does not import: cnn.py's own names still swap
            mod = None
        for name, part in parts.items():
            for where in (mod, cnn):
                if where is not None:
                    setattr(where, name, part)
    return pick(load, "cnn", "CNN")(*params)


def cnn_forward(load, params, x):
    model = _cnn(load, params)
    got = model.parameters()
    return {"parameters": list(got) if got is not None else None, "forward": model.forward(x), "call": model(x)}


def cnn_backward(load, params, x, grad_output, initial_grads):
    model = _cnn(load, params)
    for p, g in zip(params, initial_grads):
        p.grad = _clone(g)
    model(x)
    grad_x = model.backward(grad_output)
    return {"grad_input": grad_x, "grads": [p.grad for p in params]}


def cnn_train(load, params, images, labels, batches, lr, momentum, test_images=None, report_every_step=True):
    """torch's loop: zero_grad, loss = criterion(model(x), y), backward, SGD (momentum) step, as
    torch.optim.SGD does it; batches: lists of indices into images. Returns every loss, the
    parameters after every step (report_every_step) and the logits on test_images after training."""
    model = _cnn(load, params)
    optimized, criterion, buffers = list(model.parameters()), _CrossEntropy(), {}
    losses, after = [], []
    for batch in batches:
        for p in optimized:
            p.grad = None
        loss = criterion(model(images[batch]), labels[batch])
        model.backward(criterion.backward())
        with torch.no_grad():
            for k, p in enumerate(optimized):
                if p.grad is None:
                    continue
                g = p.grad
                if momentum:
                    buf = buffers.get(k)
                    buffers[k] = buf = g.clone() if buf is None else buf.mul_(momentum).add_(g)
                    g = buf
                p.add_(g, alpha=-lr)
        losses.append(float(loss))
        if report_every_step:
            after.append([p.clone() for p in params])
    logits = None if test_images is None else model(test_images)
    return {"losses": losses, "parameters": after, "test_logits": logits, "final": [_clone(p) for p in optimized]}


DRIVERS = {f.__name__: f for f in (call, mlp_forward, mlp_backward, loss_forward, loss_backward,
                                    zero_grad, optimizer_steps, optimizer_construct, train)}
DRIVERS.update({f.__name__: f for f in (cnn_parts, cnn_forward, cnn_backward, cnn_train)})
