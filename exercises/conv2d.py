"""conv2d -- what nn.Conv2d / F.conv2d compute, written as loops.

A convolution layer slides a small kernel over the image. Each output cell is a dot
product between the kernel and the input window under it, plus a bias:

    out[n, o, i, j] = bias[o] + sum over c, u, v of
        x_padded[n, g*C_in_g + c, i*stride + u*dilation, j*stride + v*dilation] * weight[o, c, u, v]

where g = o // (C_out / groups) is the group of output channel o and C_in_g = C_in / groups.
There is no kernel flip: torch's "convolution" is a cross-correlation.
Output size, per axis:  out = (in + 2*padding - dilation*(kernel - 1) - 1) // stride + 1

Allowed: loops, indexing, slicing, elementwise math, sum, matmul, einsum, Tensor.unfold,
numpy, and the FFT (torch.fft, numpy.fft). The convolution theorem is an honest route: a
Fourier transform is not a convolution, and you still write the padding, the cross-correlation
(no flip), the cropping of the circular wrap-around, stride, dilation and groups yourself (a DFT
is one matmul anyway, so forbidding the FFT would forbid nothing).
Not allowed: a built-in convolution from any library -- torch's convolution ops (F.conv2d,
nn.Conv2d, torch.conv2d, ...), F.unfold, F.fold, torch.stft (it slides a window over the input
for you: the stride is its hop), numpy's correlate/convolve (and what uses
them, such as polymul), torch's own decompositions (torch._decomp's im2col/col2im), sympy's
discrete convolutions -- the grader notices. Seven nested loops over scalars are slow but earn
full marks.
"""
import torch


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d: F.conv2d(input, weight, bias, stride, padding, dilation, groups), same arguments.

    input:  (N, C_in, H, W), or (C_in, H, W) unbatched (then the output is unbatched too).
    weight: (C_out, C_in / groups, kH, kW).   bias: (C_out,) or None.
    stride, dilation: an int or a pair (for height, width).
    padding: an int, a pair, 'valid' (no padding) or 'same' (output as large as the input;
      stride must be 1; the total padding per axis, dilation*(kernel - 1), is split with the
      larger half after: top = total // 2).
    groups: C_in and C_out are split into `groups` equal parts; output channel group g sees
      only input channel group g.
    Returns (N, C_out, H_out, W_out) with input's dtype.
    """
    # TODO(conv2d): normalise the arguments, pad the input with zeros, then loop.
    raise NotImplementedError("conv2d: implement conv2d in conv2d.py")
