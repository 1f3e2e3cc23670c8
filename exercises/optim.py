"""zero_grad and sgd -- what optimizer.zero_grad() and optimizer.step() do.

An optimizer holds the very parameter tensors of a model. After loss.backward() each has
its gradient in .grad; optimizer.step() moves every parameter against its gradient, in
place, and optimizer.zero_grad() clears the gradients so that the next backward pass does
not add onto them. Here you write both, matching torch.optim.SGD step for step.

Allowed: tensor operations, in-place ones (add_, mul_, zero_, copy_) included, and
torch.no_grad(). Not allowed: torch.optim (the grader notices).
"""
import torch


def zero_grad(params, set_to_none=True):
    """zero_grad: clear the gradient of every tensor in params  (Optimizer.zero_grad).

    params: an iterable of tensors -- possibly a generator, as model.parameters() is, so go
    over it once. set_to_none=True: every .grad becomes None. set_to_none=False: an existing
    .grad is zeroed in place (the same tensor object, now all zeros). A .grad that is
    None stays None either way.
    """
    # TODO(zero_grad): one loop over params.
    raise NotImplementedError("zero_grad: implement zero_grad(params, set_to_none) in optim.py")


class SGD:
    """sgd: torch.optim.SGD, step for step.

    For each parameter p whose .grad is not None (the others are skipped), in order:
      g = -p.grad if maximize else p.grad
      if weight_decay != 0:  g = g + weight_decay * p
      if momentum != 0:
          first step for p:  buf = copy of g          (no dampening on the first step)
          later steps:       buf = momentum * buf + (1 - dampening) * g
          g = g + momentum * buf  if nesterov  else  buf
      p -= lr * g          (in place: p is the model's own tensor)
    The momentum buffer is kept per parameter across steps.
    __init__ raises ValueError, as torch does, when lr < 0, momentum < 0, weight_decay < 0,
    when nesterov is set without momentum > 0 and dampening == 0, or when params is empty.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        # TODO(sgd): first, check the arguments as torch.optim.SGD does (see the docstring).
        self.params = list(params)  # params may be a generator: read it once
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov, self.maximize = weight_decay, nesterov, maximize
        self.momentum_buffers = [None] * len(self.params)

    def zero_grad(self, set_to_none=True):
        """zero_grad: clear the gradients of this optimizer's parameters."""
        # TODO(zero_grad): the function above does the work.
        raise NotImplementedError("zero_grad: implement SGD.zero_grad in optim.py")

    def step(self):
        """sgd: one update of every parameter that has a gradient."""
        # TODO(sgd): the update rule from the class docstring. Model parameters require grad:
        # update them inside `with torch.no_grad():`.
        raise NotImplementedError("sgd: implement SGD.step in optim.py")
