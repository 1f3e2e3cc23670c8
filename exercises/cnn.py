"""cnn -- the capstone: your own parts, wired into a network that learns handwritten digits.

    model = nn.Sequential(nn.Conv2d(1, C1, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(C1, C2, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(C2 * H2 * W2, 10))
    loss = nn.CrossEntropyLoss()(model(images), labels); loss.backward(); optimizer.step()

Every piece of that is something you wrote: conv2d, relu, linear, CrossEntropyLoss, their
backward passes, SGD. What `model(images)` and `loss.backward()` still hide is the wiring:
which tensors each layer keeps, and how the layers' backward passes chain, last layer first.
That is this exercise. CNN holds the six tensors torch's model would hold and computes
exactly what the nn.Sequential above computes:

    x (N, C_in, H, W)
    -> conv2d(x, w1, b1, stride=1, padding=1)   h1 (N, C1, H, W)
    -> relu                                      a1
    -> conv2d(a1, w2, b2, stride=2, padding=1)  h2 (N, C2, H2, W2), H2 = (H - 1) // 2 + 1 (W2 alike)
    -> relu                                      a2
    -> flatten, as nn.Flatten does: a2.reshape(N, -1), channel first, then row, then column
    -> linear(flat, w3, b3)                      logits (N, n_classes)

w1: (C1, C_in, 3, 3), b1: (C1,), w2: (C2, C1, 3, 3), b2: (C2,), w3: (n_classes, C2*H2*W2),
b3: (n_classes,). The grader uses other sizes than the digits' (1 input channel, 8x8, 10 classes).
The loss and the optimizer stay outside the model, as in torch: the training loop calls
criterion(model(x), y), then model.backward(criterion.backward()), then optimizer.step().

Use the parts by these names, imported below -- conv2d, relu, linear and their backward passes
conv2d_backward, relu_backward, linear_backward. This exercise is graded on the wiring alone:
the grader swaps these names (here and in their own modules) for torch's own (F.conv2d, F.linear,
torch.relu and their gradients), so the cnn points do not depend on your other exercises, and a
part you have not finished yet costs nothing here (call them by these names, not F.conv2d: while grading,
torch's convolutions run in the grader only). `python grader.py --train` then trains the network with your own parts.

Not allowed in the backward pass: autograd (.backward(), torch.autograd.grad, torch.func) -- the
grader notices. The output dtypes are the input's dtype.
"""
from .backward import linear_backward, relu_backward  # noqa: F401
from .conv2d import conv2d  # noqa: F401
from .conv2d_backward import conv2d_backward  # noqa: F401
from .forward import linear, relu  # noqa: F401


class CNN:
    """conv(3x3, padding 1) -> relu -> conv(3x3, stride 2, padding 1) -> relu -> flatten -> linear.

    parameters(): [w1, b1, w2, b2, w3, b3], the very tensors given to __init__ (not copies), in
    that order -- the optimizer updates them in place.
    """

    def __init__(self, w1, b1, w2, b2, w3, b3):
        self.w1, self.b1, self.w2, self.b2, self.w3, self.b3 = w1, b1, w2, b2, w3, b3

    def parameters(self):
        # TODO(cnn): return the six tensors given to __init__, in order.
        raise NotImplementedError("cnn: implement CNN.parameters() in cnn.py")

    def forward(self, x):
        """x: (N, C_in, H, W) -> logits (N, n_classes), as the module docstring's chain.
        Keep on self whatever backward will need: each layer's input, each relu's input."""
        # TODO(cnn): conv2d -> relu -> conv2d -> relu -> flatten -> linear, with the parts above.
        raise NotImplementedError("cnn: implement CNN.forward(x) in cnn.py")

    def __call__(self, x):
        return self.forward(x)

    def backward(self, grad_output):
        """backward: what loss.backward() does for this model, given d loss / d logits.

        grad_output: (N, n_classes), the gradient of the loss w.r.t. the last forward's output.
        Goes back through the layers in reverse order: linear_backward, un-flatten (reshape the
        gradient to a2's shape), relu_backward, conv2d_backward (stride 2, padding 1),
        relu_backward, conv2d_backward (stride 1, padding 1).
        ACCUMULATES into each parameter's .grad exactly as loss.backward() does: where .grad is
        None it becomes the gradient, otherwise the gradient is added to it.
        Returns d loss / d x, shaped like the last forward's x.
        """
        # TODO(cnn): the chain rule, last layer first; then accumulate into the six .grad.
        raise NotImplementedError("cnn: implement CNN.backward(grad_output) in cnn.py")
