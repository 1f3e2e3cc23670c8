"""Reference for the conv2d_backward exercise. The specification is exercises/conv2d_backward.py.

The forward loops over kernel offsets (see solutions/conv2d.py); the backward runs the same
loop, sending each window's gradient back: into grad_weight by an einsum, and into the
padded input gradient by a strided scatter (which is what conv_transpose2d does)."""
import torch


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


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
            for g in range(groups):
                ins, outs = slice(g * c_in_g, (g + 1) * c_in_g), slice(g * c_out_g, (g + 1) * c_out_g)
                grad_weight[outs, :, u, v] = torch.einsum("nohw,nchw->oc", grad_output[:, outs], xp[:, ins, rows, cols])
                grad_xp[:, ins, rows, cols] += torch.einsum("nohw,oc->nchw", grad_output[:, outs], weight[outs, :, u, v])
    return grad_xp[:, :, ph:ph + h, pw:pw + w], grad_weight, grad_output.sum(dim=(0, 2, 3))
