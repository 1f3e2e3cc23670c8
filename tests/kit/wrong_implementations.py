"""Realistic wrong implementations: each must lose exactly the points of its own mistake.

`fails` names tests that must fail (on the fixed seeds the kit's tests use); any other
failing test must belong to the same exercise. Each entry appends source to a copy of the
reference module, so the rest of the submission stays correct.
"""
from dataclasses import dataclass


ARITHMETIC = "(the size's arithmetic)"  # a wrong shape: the message shows the numbers, names no mistake


@dataclass(frozen=True)
class Says:
    """A mistake a rule of the grading test recognises (not a catalog entry, not values): its
    message must contain these words, and name no catalog entry."""
    words: str


@dataclass(frozen=True)
class Wrong:
    name: str
    exercise: str
    module: str
    source: str
    fails: frozenset  # test function names that must fail


def W(name, exercise, module, fails, source):
    return Wrong(name, exercise, module, source, frozenset(fails.split()))


WRONG = [
    # forward ---------------------------------------------------------------
    W("linear without transpose", "forward", "forward", "test_linear test_mlp", '''
def linear(x, weight, bias=None):
    y = x @ weight
    return y if bias is None else y + bias
'''),
    W("linear ignores bias", "forward", "forward", "test_linear", '''
def linear(x, weight, bias=None):
    return x @ weight.T
'''),
    W("leaky relu", "forward", "forward", "test_relu", '''
def relu(x):
    return torch.where(x > 0, x, 0.01 * x)
'''),
    W("MLP without relu", "forward", "forward", "test_mlp", '''
MLP.forward = lambda self, x: linear(linear(x, self.w1, self.b1), self.w2, self.b2)
'''),
    W("parameters are copies", "forward", "forward", "test_mlp", '''
MLP.parameters = lambda self: [self.w1.clone(), self.b1.clone(), self.w2.clone(), self.b2.clone()]
'''),
    W("parameters in another order", "forward", "forward", "test_mlp", '''
MLP.parameters = lambda self: [self.w1, self.w2, self.b1, self.b2]
'''),
    W("the model keeps copies of its weights", "forward", "forward", "test_mlp", '''
_init = MLP.__init__
MLP.__init__ = lambda self, w1, b1, w2, b2: _init(self, w1.clone(), b1.clone(), w2.clone(), b2.clone())
'''),
    W("relu in place", "forward", "forward", "test_relu", '''
def relu(x):
    return x.clamp_(min=0)
'''),
    W("linear through torch.mm", "forward", "forward", "test_linear test_mlp", '''
def linear(x, weight, bias=None):
    y = torch.mm(x, weight.T)  # 2-D only: x may have leading dimensions, or none
    return y if bias is None else y + bias
'''),
    # loss -------------------------------------------------------------------
    W("mse sums instead of averaging", "loss", "loss", "test_mse", '''
def _forward(self, input, target):
    self.diff = input - target
    return (self.diff ** 2).sum()
MSELoss.forward = _forward
'''),
    W("cross entropy without the max shift", "loss", "loss", "test_cross_entropy_large_logits", '''
def _forward(self, input, target):
    self.log_probs = torch.log(input.exp() / input.exp().sum(dim=1, keepdim=True))
    self.target = target
    return -self.log_probs.gather(1, target[:, None]).mean()
CrossEntropyLoss.forward = _forward
'''),
    W("cross entropy takes the log of softmax", "loss", "loss", "test_cross_entropy_large_logits", '''
def _forward(self, input, target):
    e = (input - input.max(dim=1, keepdim=True).values).exp()
    self.log_probs = torch.log(e / e.sum(dim=1, keepdim=True))  # a probability can round to 0
    self.target = target
    return -self.log_probs.gather(1, target[:, None]).mean()
CrossEntropyLoss.forward = _forward
'''),
    W("cross entropy sums over the batch", "loss", "loss", "test_cross_entropy", '''
_reference_forward = CrossEntropyLoss.forward
def _forward(self, input, target):
    return _reference_forward(self, input, target) * len(target)
CrossEntropyLoss.forward = _forward
'''),
    # backward ----------------------------------------------------------------
    W("grad_bias not summed over the batch", "backward", "backward", "test_linear_backward", '''
_reference = linear_backward
def linear_backward(grad_output, x, weight):
    grad_x, grad_weight, _ = _reference(grad_output, x, weight)
    return grad_x, grad_weight, grad_output
'''),
    W("grad_bias summed over the features", "backward", "backward", "test_linear_backward test_mlp_backward", '''
_reference_wa = linear_backward
def linear_backward(grad_output, x, weight):
    grad_x, grad_weight, _ = _reference_wa(grad_output, x, weight)
    return grad_x, grad_weight, grad_output.sum(dim=-1)
'''),
    W("grad_weight transposed", "backward", "backward", "test_linear_backward test_mlp_backward", '''
_reference_gt = linear_backward
def linear_backward(grad_output, x, weight):
    grad_x, _, grad_bias = _reference_gt(grad_output, x, weight)
    g, xs = grad_output.reshape(-1, weight.shape[0]), x.reshape(-1, weight.shape[1])
    return grad_x, xs.T @ g, grad_bias  # (in, out): weight's shape the other way round
'''),
    W("relu_backward zeroes grad_output in place", "backward", "backward", "test_relu_backward", '''
def relu_backward(grad_output, x):
    grad_output[x <= 0] = 0  # the right values, written into the caller's tensor
    return grad_output
'''),
    W("grad_bias averaged over the batch", "backward", "backward", "test_linear_backward", '''
_reference_lb = linear_backward
def linear_backward(grad_output, x, weight):
    grad_x, grad_weight, grad_bias = _reference_lb(grad_output, x, weight)
    return grad_x, grad_weight, grad_bias / grad_output.reshape(-1, weight.shape[0]).shape[0]
'''),
    W("relu gradient 1 at zero", "backward", "backward", "test_relu_backward", '''
def relu_backward(grad_output, x):
    return torch.where(x >= 0, grad_output, torch.zeros_like(grad_output))
'''),
    W("mse gradient without the 2", "backward", "loss", "test_loss_backward", '''
MSELoss.backward = lambda self: self.diff / self.diff.numel()
'''),
    W("cross entropy gradient not divided by N", "backward", "loss", "test_loss_backward", '''
_reference_backward = CrossEntropyLoss.backward
CrossEntropyLoss.backward = lambda self: _reference_backward(self) * len(self.target)
'''),
    W("grad overwritten instead of accumulated", "backward", "forward", "test_mlp_backward", '''
def _backward(self, grad_output):
    from .backward import linear_backward, relu_backward
    ga, gw2, gb2 = linear_backward(grad_output, self.a, self.w2)
    gx, gw1, gb1 = linear_backward(relu_backward(ga, self.h), self.x, self.w1)
    self.w1.grad, self.b1.grad, self.w2.grad, self.b2.grad = gw1, gb1, gw2, gb2
    return gx
MLP.backward = _backward
'''),
    W("autograd in linear_backward", "backward", "backward", "test_linear_backward", '''
def linear_backward(grad_output, x, weight):
    x = x.detach().requires_grad_()
    w = weight.detach().requires_grad_()
    b = torch.zeros(weight.shape[0], dtype=x.dtype, requires_grad=True)
    (x @ w.T + b).backward(grad_output)
    return x.grad, w.grad, b.grad
'''),
    # zero_grad -----------------------------------------------------------------
    W("always sets None", "zero_grad", "optim", "test_zero_grad_in_place", '''
def zero_grad(params, set_to_none=True):
    for p in params:
        p.grad = None
'''),
    W("replaces the grad tensor", "zero_grad", "optim", "test_zero_grad_in_place", '''
def zero_grad(params, set_to_none=True):
    for p in params:
        if p.grad is not None:
            p.grad = None if set_to_none else torch.zeros_like(p.grad)
'''),
    W("reads params twice", "zero_grad", "optim", "test_zero_grad_set_to_none test_zero_grad_in_place", '''
def zero_grad(params, set_to_none=True):
    if all(p.grad is None for p in params):
        return
    for p in params:
        if p.grad is not None:
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()
'''),
    W("zero_grad through torch.optim", "zero_grad", "optim",
      "test_zero_grad_set_to_none test_zero_grad_in_place test_optimizer_zero_grad", '''
def zero_grad(params, set_to_none=True):
    torch.optim.SGD(list(params), lr=0.1).zero_grad(set_to_none)
'''),
    # sgd -----------------------------------------------------------------------
    W("update not in place", "sgd", "optim", "test_plain test_momentum test_nesterov test_weight_decay", '''
def _step(self):
    for i, p in enumerate(self.params):
        if p.grad is not None:
            self.params[i] = p - self.lr * p.grad
SGD.step = _step
'''),
    W("momentum buffer is p.grad itself", "sgd", "optim", "test_momentum", '''
_reference_step = SGD.step
def _step(self):
    for i, p in enumerate(self.params):
        if p.grad is not None and self.momentum and self.momentum_buffers[i] is None:
            self.momentum_buffers[i] = p.grad   # no copy: buf.mul_ later changes p.grad too
            with torch.no_grad():
                p.add_(p.grad, alpha=-self.lr)
        elif p.grad is not None:
            buf = self.momentum_buffers[i]
            if self.momentum:
                buf.mul_(self.momentum).add_(p.grad, alpha=1 - self.dampening)
            with torch.no_grad():
                p.add_(buf if self.momentum else p.grad, alpha=-self.lr)
SGD.step = _step
'''),
    W("update outside torch.no_grad()", "sgd", "optim",
      "test_plain test_momentum test_nesterov test_weight_decay test_maximize test_none_grads", '''
def _step(self):
    for p in self.params:
        if p.grad is not None:
            p.add_(p.grad, alpha=-self.lr)   # a real model's parameters require grad: this raises
SGD.step = _step
'''),
    W("first momentum step dampened", "sgd", "optim", "test_momentum", '''
_reference_step = SGD.step
def _step(self):
    for i, p in enumerate(self.params):
        if p.grad is not None and self.momentum and self.momentum_buffers[i] is None:
            self.momentum_buffers[i] = torch.zeros_like(p)   # then buf = m*0 + (1-d)*g
    _reference_step(self)
SGD.step = _step
'''),
    W("nesterov formula swapped", "sgd", "optim", "test_nesterov", '''
@torch.no_grad()
def _step(self):
    for i, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = p.grad
        buf = self.momentum_buffers[i]
        if buf is None:
            buf = self.momentum_buffers[i] = g.clone()
        else:
            buf.mul_(self.momentum).add_(g, alpha=1 - self.dampening)
        g = buf + self.momentum * g if self.nesterov else buf
        p.add_(g, alpha=-self.lr)
SGD.step = _step
'''),
    W("nesterov with the old buffer", "sgd", "optim", "test_nesterov", '''
@torch.no_grad()
def _step(self):
    for i, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = -p.grad if self.maximize else p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = self.momentum_buffers[i]
            # the look-ahead uses the buffer as it was before this step
            step = g + self.momentum * buf if self.nesterov and buf is not None else g
            if buf is None:
                self.momentum_buffers[i] = g.clone()
            else:
                buf.mul_(self.momentum).add_(g, alpha=1 - self.dampening)
            g = step if self.nesterov else self.momentum_buffers[i]
        p.add_(g, alpha=-self.lr)
SGD.step = _step
'''),
    W("weight decay added after momentum", "sgd", "optim", "test_weight_decay", '''
@torch.no_grad()
def _step(self):
    for i, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = -p.grad if self.maximize else p.grad
        if self.momentum:
            buf = self.momentum_buffers[i]
            if buf is None:
                buf = self.momentum_buffers[i] = g.clone()
            else:
                buf.mul_(self.momentum).add_(g, alpha=1 - self.dampening)
            g = g + self.momentum * buf if self.nesterov else buf
        p.add_(g + self.weight_decay * p, alpha=-self.lr)
SGD.step = _step
'''),
    W("maximize ignored", "sgd", "optim", "test_maximize", '''
_reference_step = SGD.step
def _step(self):
    self.maximize = False
    _reference_step(self)
SGD.step = _step
'''),
    W("momentum buffer is the gradient itself", "sgd", "optim", "test_momentum", '''
@torch.no_grad()
def _step(self):
    for k, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = -p.grad if self.maximize else p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if self.momentum_buffers[k] is None:
                self.momentum_buffers[k] = g  # no copy: the next accumulation into p.grad changes it
            else:
                self.momentum_buffers[k].mul_(self.momentum).add_(g, alpha=1 - self.dampening)
            g = g + self.momentum * self.momentum_buffers[k] if self.nesterov else self.momentum_buffers[k]
        p.sub_(self.lr * g)
SGD.step = _step
'''),
    W("maximize negates p.grad in place", "sgd", "optim", "test_maximize", '''
@torch.no_grad()
def _step(self):
    for k, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = p.grad.neg_() if self.maximize else p.grad  # changes the gradient the model holds
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if self.momentum_buffers[k] is None:
                self.momentum_buffers[k] = g.clone()
            else:
                self.momentum_buffers[k].mul_(self.momentum).add_(g, alpha=1 - self.dampening)
            g = g + self.momentum * self.momentum_buffers[k] if self.nesterov else self.momentum_buffers[k]
        p.sub_(self.lr * g)
SGD.step = _step
'''),
    W("None grads not skipped", "sgd", "optim", "test_none_grads", '''
_reference_step = SGD.step
def _step(self):
    for p in self.params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    _reference_step(self)
SGD.step = _step
'''),
    W("no argument checks", "sgd", "optim", "test_invalid_arguments", '''
_reference_init = SGD.__init__
def _init(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False):
    _reference_init(self, params, abs(lr), abs(momentum), dampening, abs(weight_decay), False, maximize=maximize)
    self.nesterov = nesterov
SGD.__init__ = _init
'''),
    W("step through torch.optim", "sgd", "optim", "test_plain test_momentum test_nesterov test_maximize", '''
def _step(self):
    if not hasattr(self, "_inner"):
        self._inner = torch.optim.SGD(self.params, lr=self.lr, momentum=self.momentum, dampening=self.dampening,
                                      weight_decay=self.weight_decay, nesterov=self.nesterov, maximize=self.maximize)
    self._inner.step()
SGD.step = _step
'''),
    # training_loop ---------------------------------------------------------------
    W("zero_grad after the backward pass", "training_loop", "training_loop", "test_losses test_call_order", '''
def train(model, criterion, optimizer, loader, num_epochs):
    losses = []
    for _ in range(num_epochs):
        for x, y in loader:
            loss = criterion(model(x), y)
            model.backward(criterion.backward())
            optimizer.zero_grad()
            optimizer.step()
            losses.append(loss.item())
    return losses
'''),
    W("zero_grad at the end of each batch", "training_loop", "training_loop", "test_losses test_call_order", '''
def train(model, criterion, optimizer, loader, num_epochs):
    losses = []
    for _ in range(num_epochs):
        for x, y in loader:
            loss = criterion(model(x), y)
            model.backward(criterion.backward())
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
    return losses
'''),
    W("losses as tensors", "training_loop", "training_loop", "test_losses", '''
_reference_train = train
def train(model, criterion, optimizer, loader, num_epochs):
    return [torch.tensor(v) for v in _reference_train(model, criterion, optimizer, loader, num_epochs)]
'''),
    W("one epoch only", "training_loop", "training_loop", "test_losses test_call_order", '''
_reference_train = train
def train(model, criterion, optimizer, loader, num_epochs):
    return _reference_train(model, criterion, optimizer, loader, 1)
'''),
    # conv2d --------------------------------------------------------------------
    W("flipped kernel", "conv2d", "conv2d", "test_basic test_stride_padding", '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _reference_conv2d(input, weight.flip(-1, -2), bias, stride, padding, dilation, groups)
'''),
    W("stride ignored", "conv2d", "conv2d", "test_stride_padding", '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _reference_conv2d(input, weight, bias, 1, padding, dilation, groups)
'''),
    W("dilation ignored", "conv2d", "conv2d", "test_dilation", '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _reference_conv2d(input, weight, bias, stride, padding, 1, groups)
'''),
    W("groups ignored", "conv2d", "conv2d", "test_groups", '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _reference_conv2d(input, weight.repeat(1, groups, 1, 1), bias, stride, padding, dilation, 1)
'''),
    W("same padding: the odd row first", "conv2d", "conv2d", "test_string_padding", '''
def _padding(padding, kernel, dilation):
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total - total // 2, total // 2]
        return tuple(pads)
    ph, pw = _pair(padding)
    return ph, ph, pw, pw
'''),
    W("same padding split evenly", "conv2d", "conv2d", "test_string_padding", '''
def _padding(padding, kernel, dilation):
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        pads = []
        for k, d in zip(kernel, dilation):
            half = d * (k - 1) // 2
            pads += [half, half]  # one short when the total is odd
        return tuple(pads)
    ph, pw = _pair(padding)
    return ph, ph, pw, pw
'''),
    W("dilation missing from the index only", "conv2d", "conv2d", "test_dilation", '''
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    n, c_in, h, w = x.shape
    c_out, c_in_g, kh, kw = weight.shape
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    top, bottom, left, right = _padding(padding, (kh, kw), (dh, dw))
    xp = x.new_zeros(n, c_in, h + top + bottom, w + left + right)
    xp[:, :, top:top + h, left:left + w] = x
    h_out = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    w_out = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = x.new_zeros(n, c_out, h_out, w_out)
    c_out_g = c_out // groups
    for u in range(kh):
        for v in range(kw):
            window = xp[:, :, u:u + sh * (h_out - 1) + 1:sh, v:v + sw * (w_out - 1) + 1:sw]  # u, not u*dh
            for g in range(groups):
                ins, outs = slice(g * c_in_g, (g + 1) * c_in_g), slice(g * c_out_g, (g + 1) * c_out_g)
                out[:, outs] += torch.einsum("nchw,oc->nohw", window[:, ins], weight[outs, :, u, v])
    if bias is not None:
        out += bias[None, :, None, None]
    return out[0] if unbatched else out
'''),
    W("stride missing from the index only", "conv2d", "conv2d", "test_stride_padding", '''
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    n, c_in, h, w = x.shape
    c_out, c_in_g, kh, kw = weight.shape
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    top, bottom, left, right = _padding(padding, (kh, kw), (dh, dw))
    xp = x.new_zeros(n, c_in, h + top + bottom, w + left + right)
    xp[:, :, top:top + h, left:left + w] = x
    h_out = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    w_out = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = x.new_zeros(n, c_out, h_out, w_out)
    c_out_g = c_out // groups
    for i in range(h_out):
        for j in range(w_out):
            for u in range(kh):
                for v in range(kw):
                    cell = xp[:, :, i + u * dh, j + v * dw]  # i, not i*sh: the stride only sets the size
                    for g in range(groups):
                        ins, outs = slice(g * c_in_g, (g + 1) * c_in_g), slice(g * c_out_g, (g + 1) * c_out_g)
                        out[:, outs, i, j] += cell[:, ins] @ weight[outs, :, u, v].T
    if bias is not None:
        out += bias[None, :, None, None]
    return out[0] if unbatched else out
'''),
    W("groups hidden by broadcasting", "conv2d", "conv2d", "test_groups", '''
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    n, c_in, h, w = x.shape
    c_out, c_in_g, kh, kw = weight.shape
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    top, bottom, left, right = _padding(padding, (kh, kw), (dh, dw))
    xp = x.new_zeros(n, c_in, h + top + bottom, w + left + right)
    xp[:, :, top:top + h, left:left + w] = x
    h_out = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    w_out = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = x.new_zeros(n, c_out, h_out, w_out)
    for u in range(kh):
        for v in range(kw):
            window = xp[:, :, u * dh:u * dh + sh * (h_out - 1) + 1:sh, v * dw:v * dw + sw * (w_out - 1) + 1:sw]
            # (n, 1, c_in, h, w) * (1, c_out, c_in_g, 1, 1): with c_in_g == 1 it broadcasts, groups or not
            out += (window[:, None] * weight[None, :, :, u, v, None, None]).sum(2)
    if bias is not None:
        out += bias[None, :, None, None]
    return out[0] if unbatched else out
'''),
    W("no unbatched input", "conv2d", "conv2d", "test_unbatched_no_bias", '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    n, c, h, w = input.shape
    return _reference_conv2d(input, weight, bias, stride, padding, dilation, groups)
'''),
    W("F.conv2d", "conv2d", "conv2d", "test_basic test_stride_padding test_dilation test_groups", '''
import torch.nn.functional as F
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
'''),
    W("conv by a computed name, exception swallowed", "conv2d", "conv2d", "test_basic test_groups", '''
_reference_conv2d = conv2d
_fn = getattr(torch.nn.functional, "con" + "v2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    try:
        _fn(input, weight, bias, stride, padding, dilation, groups)
    except Exception:
        pass
    return _reference_conv2d(input, weight, bias, stride, padding, dilation, groups)
'''),
    W("F.unfold", "conv2d", "conv2d", "test_basic", '''
import torch.nn.functional as F
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    F.unfold(input if input.dim() == 4 else input[None], weight.shape[-2:])
    return _reference_conv2d(input, weight, bias, stride, padding, dilation, groups)
'''),
    # conv_transpose2d ----------------------------------------------------------------
    W("padding adds instead of cropping", "conv_transpose2d", "conv_transpose2d", "test_padding_output_padding", '''
_reference = conv_transpose2d
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    out = _reference(input, weight, bias, stride, 0, output_padding, groups, dilation)
    p = (padding, padding) if isinstance(padding, int) else padding
    return torch.nn.functional.pad(out, (p[1], p[1], p[0], p[0]))
'''),
    W("flipped kernel, transposed", "conv_transpose2d", "conv_transpose2d",
      "test_basic test_stride test_padding_output_padding test_dilation test_groups", '''
_reference_conv_transpose2d = conv_transpose2d
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _reference_conv_transpose2d(input, weight.flip(-1, -2), bias, stride, padding, output_padding, groups,
                                       dilation)
'''),
    W("output_padding ignored", "conv_transpose2d", "conv_transpose2d", "test_padding_output_padding", '''
_reference = conv_transpose2d
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _reference(input, weight, bias, stride, padding, 0, groups, dilation)
'''),
    W("output_padding sliced past the end", "conv_transpose2d", "conv_transpose2d", "test_edge_cases", '''
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    n, c_in, h, w = x.shape
    _, c_out_g, kh, kw = weight.shape
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    (oph, opw), (dh, dw) = _pair(output_padding), _pair(dilation)
    full_h = (h - 1) * sh + dh * (kh - 1) + 1  # output_padding left for the crop below
    full_w = (w - 1) * sw + dw * (kw - 1) + 1
    full = x.new_zeros(n, c_out_g * groups, full_h, full_w)
    c_in_g = c_in // groups
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + sh * (h - 1) + 1, sh)
            cols = slice(v * dw, v * dw + sw * (w - 1) + 1, sw)
            for g in range(groups):
                ins, outs = slice(g * c_in_g, (g + 1) * c_in_g), slice(g * c_out_g, (g + 1) * c_out_g)
                full[:, outs, rows, cols] += torch.einsum("nchw,co->nohw", x[:, ins], weight[ins, :, u, v])
    out = full[:, :, ph:full_h - ph + oph, pw:full_w - pw + opw]  # past the end when output_padding > padding
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out[0] if unbatched else out.contiguous()
'''),
    W("dilation before groups", "conv_transpose2d", "conv_transpose2d", "test_dilation", '''
_reference = conv_transpose2d
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    return _reference(input, weight, bias, stride, padding, output_padding, groups, dilation)
'''),
    W("stride ignored in the scatter", "conv_transpose2d", "conv_transpose2d", "test_stride", '''
_reference = conv_transpose2d
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _reference(input, weight, bias, 1, padding, 0, groups, dilation)
'''),
    W("F.conv_transpose2d through torch.ops.aten", "conv_transpose2d", "conv_transpose2d",
      "test_basic test_stride", '''
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    pair = lambda v: [v, v] if isinstance(v, int) else list(v)
    batched = input if input.dim() == 4 else input[None]
    out = torch.ops.aten.convolution(batched, weight, bias, pair(stride), pair(padding), pair(dilation), True,
                                     pair(output_padding), groups)
    return out if input.dim() == 4 else out[0]
'''),
]
WRONG += [
    # conv2d_backward ------------------------------------------------------------------
    W("grad_input without output_padding", "conv2d_backward", "conv2d_backward", "test_edge_cases", '''
_reference = conv2d_backward
def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    grad_input, grad_weight, grad_bias = _reference(grad_output, input, weight, stride, padding, dilation, groups)
    s = _pair(stride)
    h, w = grad_input.shape[2:]
    keep_h, keep_w = h - (h - 1) % s[0] if s[0] > 1 else h, w - (w - 1) % s[1] if s[1] > 1 else w
    return grad_input[:, :, :keep_h, :keep_w], grad_weight, grad_bias
'''),
    W("grad_bias averaged", "conv2d_backward", "conv2d_backward", "test_basic test_stride_padding", '''
_reference = conv2d_backward
def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    grad_input, grad_weight, _ = _reference(grad_output, input, weight, stride, padding, dilation, groups)
    return grad_input, grad_weight, grad_output.mean(dim=(0, 2, 3))
'''),
    W("grad_weight without the dilation", "conv2d_backward", "conv2d_backward", "test_dilation", '''
def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    n, c_in, h, w = input.shape
    c_out, c_in_g, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    h_out, w_out = grad_output.shape[2:]
    xp = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    xp[:, :, ph:ph + h, pw:pw + w] = input
    grad_xp = torch.zeros_like(xp)
    grad_weight = torch.zeros_like(weight)
    c_out_g = c_out // groups
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(v * dw, v * dw + sw * (w_out - 1) + 1, sw)
            read_rows, read_cols = slice(u, u + sh * (h_out - 1) + 1, sh), slice(v, v + sw * (w_out - 1) + 1, sw)
            for g in range(groups):
                ins, outs = slice(g * c_in_g, (g + 1) * c_in_g), slice(g * c_out_g, (g + 1) * c_out_g)
                grad_weight[outs, :, u, v] = torch.einsum("nohw,nchw->oc", grad_output[:, outs],
                                                          xp[:, ins, read_rows, read_cols])  # u, not u*dh
                grad_xp[:, ins, rows, cols] += torch.einsum("nohw,oc->nchw", grad_output[:, outs], weight[outs, :, u, v])
    return grad_xp[:, :, ph:ph + h, pw:pw + w], grad_weight, grad_output.sum(dim=(0, 2, 3))
'''),
    W("grad_weight with a flipped kernel", "conv2d_backward", "conv2d_backward", "test_basic test_stride_padding", '''
_reference = conv2d_backward
def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    grad_input, grad_weight, grad_bias = _reference(grad_output, input, weight, stride, padding, dilation, groups)
    return grad_input, grad_weight.flip(-1, -2), grad_bias
'''),
    W("autograd through a hand-written conv", "conv2d_backward", "conv2d_backward", "test_basic", '''
def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    from .conv2d import conv2d
    x, w = input.detach().requires_grad_(), weight.detach().requires_grad_()
    conv2d(x, w, None, stride, padding, dilation, groups).backward(grad_output)
    return x.grad, w.grad, grad_output.sum(dim=(0, 2, 3))
'''),
]

# The catalog entry (kit/misconceptions.py) that each of these must be recognised as, in the
# message of its first failing test; None: no entry fits, and the message must say so.
MISCONCEPTION = {
    "linear without transpose": "weight_not_transposed",
    "linear ignores bias": "bias_ignored",
    "leaky relu": None,
    "MLP without relu": "mlp_without_relu",
    "relu in place": Says("relu changed its input x in place"),
    "linear through torch.mm": "mm_2d_only",
    "mse sums instead of averaging": "sum_vs_mean",
    "cross entropy without the max shift": "exp_overflow",
    "cross entropy sums over the batch": "sum_vs_mean",
    "cross entropy takes the log of softmax": "log_softmax_underflow",
    "grad_bias not summed over the batch": "grad_bias_not_summed",
    "relu_backward zeroes grad_output in place": Says("relu_backward changed its input in place (argument 1"),
    "grad_bias summed over the features": "grad_bias_wrong_axis",
    "grad_weight transposed": "grad_weight_transposed",
    "grad_bias averaged over the batch": "grad_bias_mean",
    "relu gradient 1 at zero": "relu_grad_at_zero",
    "mse gradient without the 2": "mse_factor_2",
    "cross entropy gradient not divided by N": "grad_not_averaged",
    "grad overwritten instead of accumulated": "grad_overwritten",
    "always sets None": "set_to_none_ignored",
    "first momentum step dampened": "first_momentum_step",
    "nesterov formula swapped": "nesterov_formula",
    "update not in place": Says("instead of updating it in place"),
    "momentum buffer is p.grad itself": Says("changed parameter 0's .grad in place"),
    "update outside torch.no_grad()": Says("a leaf Variable that requires grad is being used in an in-place"),
    "nesterov with the old buffer": "nesterov_formula",
    "weight decay added after momentum": "weight_decay_place",
    "maximize ignored": "maximize_ignored",
    "zero_grad after the backward pass": "zero_grad_placement",
    "zero_grad at the end of each batch": "zero_grad_placement",
    "flipped kernel": "flipped_kernel",
    "stride ignored": "stride_ignored",
    "dilation ignored": "dilation_ignored",
    "groups ignored": "groups_ignored",
    "groups hidden by broadcasting": "groups_ignored",
    "dilation missing from the index only": "dilation_ignored_index",
    "stride missing from the index only": "stride_ignored_index",
    "same padding split evenly": ARITHMETIC,
    "same padding: the odd row first": "same_padding_side",
    "padding adds instead of cropping": "transpose_padding_adds",
    "output_padding ignored": "output_padding_ignored",
    "output_padding sliced past the end": "output_padding_ignored",
    "stride ignored in the scatter": "stride_ignored_transpose",
    "dilation before groups": "transpose_arg_order",
    "grad_input without output_padding": ARITHMETIC,
    "grad_bias averaged": "mean_vs_sum",
    "grad_weight with a flipped kernel": "flipped_kernel_grad_weight",
    "grad_weight without the dilation": "dilation_ignored_grad_weight",
    "flipped kernel, transposed": "flipped_kernel_transpose",
}
WRONG.append(W("output one row too tall", "conv2d", "conv2d", "test_basic test_stride_padding", '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    # (in + 2*padding - dilation*(kernel - 1)) // stride + 1: the "- 1" forgotten, one row too many
    out = _reference_conv2d(input, weight, bias, stride, padding, dilation, groups)
    return torch.nn.functional.pad(out, (0, 0, 0, 1))
'''))
MISCONCEPTION["output one row too tall"] = ARITHMETIC
WRONG.append(W("padding on each other's axis", "conv2d", "conv2d", "test_stride_padding", '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    # F.pad(input, (ph, ph, pw, pw)): F.pad's list starts with the last axis (a new student's mistake)
    if not isinstance(padding, str):
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        padding = (pw, ph)
    return _reference_conv2d(input, weight, bias, stride, padding, dilation, groups)
'''))
MISCONCEPTION["padding on each other's axis"] = Says("each axis got the other's padding")
# cnn: the wiring of the capstone's network (the parts are the grader's own there) ------------
WRONG += [
    W("cnn backward skips the second relu", "cnn", "cnn", "test_backward test_steps", '''
def _backward(self, grad_output):
    grad_flat, grad_w3, grad_b3 = linear_backward(grad_output, self.flat, self.w3)
    grad_h2 = grad_flat.reshape(self.a2.shape)  # relu_backward(., self.h2) forgotten
    grad_a1, grad_w2, grad_b2 = conv2d_backward(grad_h2, self.a1, self.w2, stride=2, padding=1)
    grad_x, grad_w1, grad_b1 = conv2d_backward(relu_backward(grad_a1, self.h1), self.x, self.w1, stride=1, padding=1)
    for p, g in zip(self.parameters(), (grad_w1, grad_b1, grad_w2, grad_b2, grad_w3, grad_b3)):
        p.grad = g if p.grad is None else p.grad + g
    return grad_x
CNN.backward = _backward
'''),
    W("cnn grad overwritten instead of accumulated", "cnn", "cnn", "test_backward", '''
_reference_backward = CNN.backward
def _backward(self, grad_output):
    for p in self.parameters():
        p.grad = None  # "a fresh gradient": loss.backward() would have added to the old one
    return _reference_backward(self, grad_output)
CNN.backward = _backward
'''),
    W("cnn flattens channels last", "cnn", "cnn", "test_forward test_backward test_steps", '''
def _forward(self, x):
    self.x = x
    self.h1 = conv2d(x, self.w1, self.b1, stride=1, padding=1)
    self.a1 = relu(self.h1)
    self.h2 = conv2d(self.a1, self.w2, self.b2, stride=2, padding=1)
    self.a2 = relu(self.h2)
    self.flat = self.a2.permute(0, 2, 3, 1).reshape(self.a2.shape[0], -1)  # (N, H, W, C) order
    return linear(self.flat, self.w3, self.b3)
def _backward(self, grad_output):
    grad_flat, grad_w3, grad_b3 = linear_backward(grad_output, self.flat, self.w3)
    n, c, h, w = self.a2.shape
    grad_h2 = relu_backward(grad_flat.reshape(n, h, w, c).permute(0, 3, 1, 2), self.h2)
    grad_a1, grad_w2, grad_b2 = conv2d_backward(grad_h2, self.a1, self.w2, stride=2, padding=1)
    grad_x, grad_w1, grad_b1 = conv2d_backward(relu_backward(grad_a1, self.h1), self.x, self.w1, stride=1, padding=1)
    for p, g in zip(self.parameters(), (grad_w1, grad_b1, grad_w2, grad_b2, grad_w3, grad_b3)):
        p.grad = g if p.grad is None else p.grad + g
    return grad_x
CNN.forward, CNN.backward = _forward, _backward
'''),
    W("cnn parameters are copies", "cnn", "cnn", "test_steps", '''
CNN.parameters = lambda self: [p.clone() for p in (self.w1, self.b1, self.w2, self.b2, self.w3, self.b3)]
'''),
]
WRONG.append(W("cnn backward un-flattens in another order", "cnn", "cnn", "test_backward test_steps", '''
def _backward(self, grad_output):
    grad_flat, grad_w3, grad_b3 = linear_backward(grad_output, self.flat, self.w3)
    n, c, h, w = self.a2.shape
    grad_h2 = relu_backward(grad_flat.reshape(n, h, w, c).permute(0, 3, 1, 2), self.h2)  # not the forward's order
    grad_a1, grad_w2, grad_b2 = conv2d_backward(grad_h2, self.a1, self.w2, stride=2, padding=1)
    grad_h1 = relu_backward(grad_a1, self.h1)
    grad_x, grad_w1, grad_b1 = conv2d_backward(grad_h1, self.x, self.w1, stride=1, padding=1)
    for p, g in zip(self.parameters(), (grad_w1, grad_b1, grad_w2, grad_b2, grad_w3, grad_b3)):
        if p.grad is None:
            p.grad = g
        else:
            p.grad += g
    return grad_x
CNN.backward = _backward
'''))
MISCONCEPTION.update({"cnn backward skips the second relu": "relu_backward_skipped",
                      "cnn grad overwritten instead of accumulated": "grad_overwritten",
                      "cnn flattens channels last": "flatten_order",
                      # no catalog entry: "these match torch's: w3.grad, b3.grad" says where the chain breaks
                      "cnn backward un-flattens in another order": None})

# adam ----------------------------------------------------------------------------------------
WRONG += [
    W("Adam without bias correction", "adam", "adam",
      "test_adam test_adamw test_weight_decay test_amsgrad test_eps test_maximize test_none_grads", """
@torch.no_grad()
def _step(self):
    beta1, beta2 = self.betas
    for i, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = -p.grad if self.maximize else p.grad
        if self.state[i] is None:
            self.state[i] = {"m": torch.zeros_like(p), "v": torch.zeros_like(p), "v_max": torch.zeros_like(p)}
        s = self.state[i]
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                p.mul_(1 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * p
        s["m"] = beta1 * s["m"] + (1 - beta1) * g
        s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
        v = s["v"]
        if self.amsgrad:
            s["v_max"] = torch.maximum(s["v_max"], v)
            v = s["v_max"]
        p -= self.lr * s["m"] / (v.sqrt() + self.eps)  # m and v as they are: too small in the first steps
Adam.step = _step
"""),
    W("Adam with one step count for every parameter", "adam", "adam", "test_none_grads", """
@torch.no_grad()
def _step(self):
    beta1, beta2 = self.betas
    self.t = getattr(self, "t", 0) + 1  # counted once per step(), for all parameters
    for i, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = -p.grad if self.maximize else p.grad
        if self.state[i] is None:
            self.state[i] = {"m": torch.zeros_like(p), "v": torch.zeros_like(p), "v_max": torch.zeros_like(p)}
        s = self.state[i]
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                p.mul_(1 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * p
        s["m"] = beta1 * s["m"] + (1 - beta1) * g
        s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
        v = s["v"]
        if self.amsgrad:
            s["v_max"] = torch.maximum(s["v_max"], v)
            v = s["v_max"]
        m_hat = s["m"] / (1 - beta1 ** self.t)
        v_hat = v / (1 - beta2 ** self.t)
        p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)
Adam.step = _step
"""),
    W("AdamW with L2 weight decay", "adam", "adam", "test_adamw test_amsgrad test_maximize test_none_grads", """
AdamW.decoupled_weight_decay = False  # AdamW's decay added to the gradient, as Adam's is
"""),
    W("Adam with decoupled weight decay", "adam", "adam", "test_weight_decay", """
Adam.decoupled_weight_decay = True  # Adam's decay applied to the parameter, as AdamW's is
"""),
    W("Adam with eps inside the square root", "adam", "adam", "test_adam test_eps", """
@torch.no_grad()
def _step(self):
    beta1, beta2 = self.betas
    for i, p in enumerate(self.params):
        if p.grad is None:
            continue
        g = -p.grad if self.maximize else p.grad
        if self.state[i] is None:
            self.state[i] = {"t": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p), "v_max": torch.zeros_like(p)}
        s = self.state[i]
        s["t"] += 1
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                p.mul_(1 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * p
        s["m"] = beta1 * s["m"] + (1 - beta1) * g
        s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
        v = s["v"]
        if self.amsgrad:
            s["v_max"] = torch.maximum(s["v_max"], v)
            v = s["v_max"]
        m_hat = s["m"] / (1 - beta1 ** s["t"])
        v_hat = v / (1 - beta2 ** s["t"])
        p -= self.lr * m_hat / (v_hat + self.eps).sqrt()
Adam.step = _step
"""),
    W("Adam ignores maximize", "adam", "adam", "test_maximize", """
_reference_adam_step = Adam.step
def _step(self):
    self.maximize = False
    _reference_adam_step(self)
Adam.step = _step
"""),
    W("Adam without argument checks", "adam", "adam", "test_invalid_arguments", """
def _init(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False):
    self.params = list(params)
    self.lr, self.betas, self.eps = lr, betas, eps
    self.weight_decay, self.amsgrad, self.maximize = weight_decay, amsgrad, maximize
    self.state = [None] * len(self.params)
Adam.__init__ = _init
"""),
    W("Adam through torch.optim", "adam", "adam",
      "test_adam test_adamw test_weight_decay test_amsgrad test_eps test_maximize test_none_grads", """
def _step(self):
    if not hasattr(self, "_inner"):
        self._inner = (torch.optim.AdamW if self.decoupled_weight_decay else torch.optim.Adam)(
            self.params, lr=self.lr, betas=self.betas, eps=self.eps, weight_decay=self.weight_decay,
            amsgrad=self.amsgrad, maximize=self.maximize, foreach=False)
    self._inner.step()
Adam.step = _step
"""),
]
MISCONCEPTION.update({"Adam without bias correction": "adam_bias_correction",
                      "Adam with one step count for every parameter": "adam_shared_step",
                      "AdamW with L2 weight decay": "adamw_l2_decay",
                      "Adam with decoupled weight decay": "adam_decoupled_decay",
                      "Adam with eps inside the square root": "adam_eps_place",
                      "Adam ignores maximize": "maximize_ignored"})
WRONG.append(W("cnn backward by autograd", "cnn", "cnn", "test_backward test_steps", '''
_reference_backward = CNN.backward
def _backward(self, grad_output):
    x = self.x.clone().requires_grad_()
    torch.autograd.grad(self.forward(x), x, grad_output)  # the worker's autograd rule ends it here
    return _reference_backward(self, grad_output)
import torch
CNN.backward = _backward
'''))
