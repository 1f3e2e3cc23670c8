"""backward -- what loss.backward() does, one layer at a time.

Autograd is the chain rule applied backwards: each layer receives d loss / d output
(grad_output) and returns d loss / d input, plus the gradients of its own parameters.
So `loss.backward()` on an MLP translates to

    model.backward(criterion.backward())

criterion.backward() (in loss.py) starts the chain; MLP.backward (in forward.py) passes it
through linear_backward and relu_backward below and ADDS each parameter's gradient into
its .grad, as loss.backward() does.

Allowed: tensor operations (@, sum, where, indexing). Not allowed: autograd --
.backward(), torch.autograd.grad, torch.func: the grader notices.
The output dtypes are the inputs' dtypes.
"""
import torch


def linear_backward(grad_output, x, weight):
    """backward: the gradients of y = x @ weight.T + bias.

    grad_output: (*, out_features), d loss / d y; x: (*, in_features), the forward input;
    weight: (out_features, in_features).
    Returns (grad_x, grad_weight, grad_bias):
      grad_x      = grad_output @ weight                        shape (*, in_features)
      grad_weight = sum over every leading index of grad_output[..., :, None] * x[..., None, :]
                                                                shape (out_features, in_features)
      grad_bias   = grad_output summed over every leading dimension   shape (out_features,)
    """
    # TODO(backward): three matrix expressions; flatten the leading dimensions for the sums.
    raise NotImplementedError("backward: implement linear_backward in backward.py")


def relu_backward(grad_output, x):
    """backward: d loss / d x of relu, given d loss / d relu(x).

    grad_output and x: the same shape. The result passes grad_output where x > 0 and is 0
    where x <= 0 -- at exactly x == 0 too, as torch does.
    """
    # TODO(backward): mask the incoming gradient.
    raise NotImplementedError("backward: implement relu_backward in backward.py")
