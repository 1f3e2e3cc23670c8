"""conv2d_backward -- what loss.backward() does through a convolution, and why
nn.ConvTranspose2d is what it is.

For out = conv2d(x, weight, bias, stride, padding, dilation, groups) and grad_output =
d loss / d out, the chain rule through each multiply-add out[n,o,i,j] += x_pad[...] * w[...]:

  grad_bias[o]          = sum over n, i, j of grad_output[n, o, i, j]
  grad_weight[o, c, u, v] = sum over n, i, j of
        grad_output[n, o, i, j] * x_padded[n, g*C_in_g + c, i*stride + u*dilation, j*stride + v*dilation]
  grad_input: every output cell sends grad_output[n, o, i, j] * weight[o, c, u, v] back to
        the input cell it read, x_padded[n, g*C_in_g + c, i*stride + u*dilation, j*stride + v*dilation];
        then the padding is cropped away (those cells were zeros, not inputs).

That last scatter is exactly a transposed convolution -- the transposed convolution IS the
gradient of a convolution:

  grad_input = conv_transpose2d(grad_output, weight, stride=stride, padding=padding,
                                output_padding=a, groups=groups, dilation=dilation)
  with, per axis, a = (in + 2*padding - dilation*(kernel - 1) - 1) % stride

The output_padding a restores the last rows/columns that the stride skipped: no output
read them, so their gradient is 0, but grad_input must still have the input's shape.
(`python grader.py --explain conv2d` shows it on a small example.)

Allowed: loops, indexing, slicing, elementwise math, sum, matmul, einsum, numpy -- and your
own conv_transpose2d from conv_transpose2d.py, if you like. Not allowed: autograd, any
convolution op, F.unfold, F.fold, torch.stft (the grader notices).
"""
import torch


def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    """conv2d_backward: the gradients of F.conv2d(input, weight, bias, stride, padding, dilation, groups).

    grad_output: (N, C_out, H_out, W_out); input: (N, C_in, H, W); weight: (C_out, C_in / groups, kH, kW).
    stride, padding, dilation: an int or a pair.
    Returns (grad_input, grad_weight, grad_bias), shaped like input, weight and (C_out,),
    with input's dtype.
    """
    # TODO(conv2d_backward): the three sums from the module docstring (or conv_transpose2d for grad_input).
    raise NotImplementedError("conv2d_backward: implement conv2d_backward in conv2d_backward.py")
