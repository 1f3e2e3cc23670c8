"""conv_transpose2d -- what nn.ConvTranspose2d / F.conv_transpose2d compute, by scatter.

Where a convolution gathers a window into one output cell, a transposed convolution
scatters: every input cell x[n, c, i, j] adds a kernel-shaped patch x[n, c, i, j] *
weight[c, o, :, :] into the output, with its corner at (i*stride, j*stride) and the kernel
taps spaced by dilation. Overlapping patches add up. Then:
  - padding CROPS `padding` rows/columns from each side of that full result (it never adds
    zeros -- the opposite of conv2d's padding);
  - output_padding keeps that many more rows/columns at the bottom/right (what the full
    result holds there, zeros past its end), to reach sizes a stride makes ambiguous.
Output size, per axis:
    out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1

This is also the gradient of conv2d with respect to its input, which is why it appears
in decoders and upsampling layers.

Allowed: loops, indexing, slicing, elementwise math, sum, matmul, einsum, numpy, and the FFT
(torch.fft, numpy.fft): as in conv2d, the convolution theorem is an honest route, since the
scatter's index arithmetic (stride, dilation, cropping, output_padding, groups) stays yours.
Not allowed: a built-in convolution or fold from any library -- torch's convolution ops,
F.unfold, F.fold, torch.stft/istft, the gradient of Tensor.unfold (it is a fold), numpy's correlate/convolve,
torch's own decompositions (torch._decomp's col2im), sympy's discrete convolutions -- the
grader notices.
"""
import torch


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """conv_transpose2d: F.conv_transpose2d(input, weight, bias, stride, padding,
    output_padding, groups, dilation) -- note that groups comes BEFORE dilation.

    input:  (N, C_in, H, W), or (C_in, H, W) unbatched (then the output is unbatched too).
    weight: (C_in, C_out / groups, kH, kW) -- in channels first, unlike conv2d.
    bias: (C_out,) or None.   stride, padding, output_padding, dilation: an int or a pair.
    output_padding must be smaller than stride or dilation (torch's rule).
    groups: input channel group g scatters only into output channel group g.
    Returns (N, C_out, H_out, W_out) with input's dtype.
    """
    # TODO(conv_transpose2d): build the full output, scatter every input cell, crop padding.
    raise NotImplementedError("conv_transpose2d: implement conv_transpose2d in conv_transpose2d.py")
