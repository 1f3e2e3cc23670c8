"""adam -- what torch.optim.Adam and torch.optim.AdamW do, step for step.

Adam keeps, for every parameter, two running averages of its gradient: m (the first
moment, like SGD's momentum buffer) and v (the second moment, the average of g squared).
Each parameter moves by lr * m / sqrt(v): a step of about lr in every coordinate, whatever
the gradient's scale. Both averages start at zero, so early on they are too small; Adam
divides that out (bias correction). AdamW is Adam with its weight decay taken out of the
gradient and applied to the parameter directly (decoupled weight decay).

The update, for each parameter p whose .grad is not None (the others are skipped
entirely: no step counted, no decay, no state created), in the order of params:

    g = -p.grad if maximize else p.grad        (never change p.grad itself)
    t = t + 1                                  (t: THIS parameter's own step count, from 0)
    if weight_decay != 0:
        Adam  (L2):         g = g + weight_decay * p
        AdamW (decoupled):  p = p * (1 - lr * weight_decay)     (in place; g unchanged)
    m = beta1 * m + (1 - beta1) * g            (m, v: zeros of p's shape and dtype at first)
    v = beta2 * v + (1 - beta2) * g * g
    if amsgrad:
        v_max = maximum(v_max, v)              (elementwise, of the raw v: v_max starts at 0)
        use v_max instead of v below           (v itself keeps its running average)
    m_hat = m / (1 - beta1 ** t)               (bias correction)
    v_hat = v / (1 - beta2 ** t)
    p = p - lr * m_hat / (sqrt(v_hat) + eps)   (in place; eps outside the square root)

with (beta1, beta2) = betas. m, v, v_max and t are kept per parameter across steps.

Shapes and types: params is an iterable of tensors of any shapes (possibly a generator, as
model.parameters() is: read it once); float32 or float64. Every parameter is updated in
place (p.add_, p.mul_, p.addcdiv_, p -= ...): it is the model's own tensor. Model
parameters require grad: update them inside `with torch.no_grad():`.

Arguments, with torch's defaults:
    Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False)
    AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False)
__init__ raises ValueError, as torch does, when lr < 0, eps < 0, betas[0] or betas[1] is
outside [0, 1), weight_decay < 0, or params is empty. (betas is a pair of floats.)
zero_grad(set_to_none=True) clears the gradients as the zero_grad exercise's does (you may
reuse it: `from .optim import zero_grad`; adam's zero_grad test then depends on it).

Allowed: tensor operations, in-place ones (add_, mul_, lerp_, addcmul_, addcdiv_, copy_)
included, torch.maximum, torch.no_grad(), math. Not allowed: torch.optim, anything in it
(Adam, AdamW, their functional forms) and the fused optimizer kernels (the grader notices).
"""
import torch


class Adam:
    """adam: torch.optim.Adam (L2 weight decay), as described above."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False):
        # TODO(adam): first, check the arguments as torch.optim.Adam does (see the module docstring).
        self.params = list(params)  # params may be a generator: read it once
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad, self.maximize = weight_decay, amsgrad, maximize
        # TODO(adam): the state each parameter keeps across steps (t, m, v, v_max).

    def zero_grad(self, set_to_none=True):
        """adam: clear the gradients of this optimizer's parameters."""
        # TODO(adam): as in the zero_grad exercise.
        raise NotImplementedError("adam: implement Adam.zero_grad in adam.py")

    def step(self):
        """adam: one update of every parameter that has a gradient."""
        # TODO(adam): the update from the module docstring, in place, inside torch.no_grad().
        raise NotImplementedError("adam: implement Adam.step in adam.py")


class AdamW(Adam):
    """adam: torch.optim.AdamW -- Adam with decoupled weight decay (default weight_decay=1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
        # TODO(adam): make step() apply weight decay the AdamW way (see the module docstring).
