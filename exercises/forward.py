"""forward -- what nn.Linear, nn.ReLU and a small nn.Sequential compute.

`model(x)` on nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, o)) is nothing
but three tensor expressions: a matrix product plus a bias, a max with zero, and another
matrix product plus a bias. You write them here, with the very tensors torch would hold
as the layers' weights, so `MLP(w1, b1, w2, b2)(x)` equals the nn.Sequential's output.

Shapes follow torch: a Linear weight is (out_features, in_features), its bias (out_features,),
and x is (*, in_features) -- any number of leading dimensions, or none.
Write them from tensor operations (@, matmul, where, clamp, ...): F.linear, nn.Linear,
torch.relu, F.relu or F.threshold (or another rectifier made one: leaky_relu, elu, hardtanh,
softplus, ...) would be the answer itself, and the grader ends the test if your code calls them. The point is to see that nothing more is going on.
The output dtype is the input's dtype.

MLP.backward, at the bottom, belongs to the `backward` exercise: leave it for later.
"""
import torch


def linear(x, weight, bias=None):
    """forward: y = x @ weight.T + bias  (what nn.Linear / F.linear computes).

    x: (*, in_features); weight: (out_features, in_features); bias: (out_features,) or None.
    Returns y: (*, out_features), with x's dtype.
    """
    # TODO(forward): one matrix product and, when bias is given, a broadcast add.
    raise NotImplementedError("forward: implement linear(x, weight, bias) in forward.py")


def relu(x):
    """forward: relu(x) = max(x, 0), elementwise  (nn.ReLU / torch.relu).

    x: any shape. Returns a new tensor of the same shape and dtype; x is left unchanged.
    """
    # TODO(forward): keep the positive entries, zero the rest.
    raise NotImplementedError("forward: implement relu(x) in forward.py")


class MLP:
    """forward: Linear(w1, b1) -> ReLU -> Linear(w2, b2).

    w1: (hidden, in), b1: (hidden,), w2: (out, hidden), b2: (out,).
    forward(x): x (*, in) -> (*, out). parameters(): [w1, b1, w2, b2], the very tensors given
    (not copies), in that order -- the optimizer updates them in place.
    """

    def __init__(self, w1, b1, w2, b2):
        self.w1, self.b1, self.w2, self.b2 = w1, b1, w2, b2

    def parameters(self):
        # TODO(forward): return the four tensors given to __init__, in order.
        raise NotImplementedError("forward: implement MLP.parameters() in forward.py")

    def forward(self, x):
        # TODO(forward): linear -> relu -> linear, using the functions above. Keep on self
        # whatever MLP.backward will need (the input of each layer, the pre-activation).
        raise NotImplementedError("forward: implement MLP.forward(x) in forward.py")

    def __call__(self, x):
        return self.forward(x)

    def backward(self, grad_output):
        """backward: what loss.backward() does for this model, given d loss / d output.

        grad_output: (*, out), the gradient of the loss w.r.t. the last forward's output.
        ACCUMULATES into each parameter's .grad exactly as loss.backward() does: where .grad
        is None it becomes the gradient, otherwise the gradient is added to it.
        Returns d loss / d x, shaped like the last forward's x.
        Allowed: linear_backward and relu_backward from backward.py, tensor operations.
        Not allowed: autograd (.backward(), torch.autograd).
        """
        from .backward import linear_backward, relu_backward  # noqa: F401 -- imported here, so forward works on its own
        # TODO(backward): chain rule through linear2 -> relu -> linear1, then accumulate into .grad.
        raise NotImplementedError("backward: implement MLP.backward(grad_output) in forward.py")
