"""Reference for the conv_transpose2d exercise. The specification is exercises/conv_transpose2d.py.

Scatter: for each kernel offset (u, v), every input pixel lands at a strided place of the
full output, weighted by weight[:, :, u, v]. Padding then crops the full output.

What the exercise allows and forbids is in its specification: the FFT (the convolution
theorem) is allowed, because the index arithmetic stays the student's; a built-in convolution
from any library is not, and ends the worker."""
import torch


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    n, c_in, h, w = x.shape
    _, c_out_g, kh, kw = weight.shape
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    (oph, opw), (dh, dw) = _pair(output_padding), _pair(dilation)
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    full = x.new_zeros(n, c_out_g * groups, full_h, full_w)
    c_in_g = c_in // groups
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + sh * (h - 1) + 1, sh)
            cols = slice(v * dw, v * dw + sw * (w - 1) + 1, sw)
            for g in range(groups):
                ins, outs = slice(g * c_in_g, (g + 1) * c_in_g), slice(g * c_out_g, (g + 1) * c_out_g)
                full[:, outs, rows, cols] += torch.einsum("nchw,co->nohw", x[:, ins], weight[ins, :, u, v])
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]  # padding crops; it never adds
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out[0] if unbatched else out.contiguous()
