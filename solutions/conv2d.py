"""Reference for the conv2d exercise. The specification is exercises/conv2d.py.

Loops over the kernel offsets only: for each (u, v) the strided window of the padded
input that meets weight[:, :, u, v] is one slice, and the channel sum is one einsum.

What the exercise allows and forbids is in its specification: the FFT (the convolution
theorem) is allowed, because the index arithmetic stays the student's; a built-in convolution
from any library is not, and ends the worker."""
import torch


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _padding(padding, kernel, dilation):
    """(top, bottom, left, right)."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]  # torch puts the odd one at the end
        return tuple(pads)
    ph, pw = _pair(padding)
    return ph, ph, pw, pw


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
            window = xp[:, :, u * dh:u * dh + sh * (h_out - 1) + 1:sh, v * dw:v * dw + sw * (w_out - 1) + 1:sw]
            for g in range(groups):
                ins, outs = slice(g * c_in_g, (g + 1) * c_in_g), slice(g * c_out_g, (g + 1) * c_out_g)
                out[:, outs] += torch.einsum("nchw,oc->nohw", window[:, ins], weight[outs, :, u, v])
    if bias is not None:
        out += bias[None, :, None, None]
    return out[0] if unbatched else out
