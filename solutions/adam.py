"""Reference for the adam exercise. The specification is exercises/adam.py."""
import math

import torch


class Adam:
    decoupled_weight_decay = False  # AdamW: True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        self.params = list(params)  # a generator can be read only once
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad, self.maximize = weight_decay, amsgrad, maximize
        self.state = [None] * len(self.params)  # per parameter, created on its first step

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    @torch.no_grad()  # parameters of a real model require grad; their update is not part of the graph
    def step(self):
        beta1, beta2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue  # not stepped: its step count stays where it was
            g = -p.grad if self.maximize else p.grad
            state = self.state[i]
            if state is None:
                state = self.state[i] = {"step": 0, "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
                if self.amsgrad:
                    state["max_exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
            t = state["step"]
            if self.weight_decay != 0:
                if self.decoupled_weight_decay:
                    p.mul_(1 - self.lr * self.weight_decay)  # AdamW: outside the moments
                else:
                    g = g.add(p, alpha=self.weight_decay)  # Adam: L2, into the gradient
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m.lerp_(g, 1 - beta1)  # m = beta1 * m + (1 - beta1) * g
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            if self.amsgrad:
                torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                v = state["max_exp_avg_sq"]
            bias_correction1 = 1 - beta1 ** t
            bias_correction2 = 1 - beta2 ** t
            denom = (v.sqrt() / math.sqrt(bias_correction2)).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bias_correction1)


class AdamW(Adam):
    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
