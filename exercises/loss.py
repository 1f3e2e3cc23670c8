"""loss -- what nn.MSELoss and nn.CrossEntropyLoss compute (and, later, their gradients).

`loss = criterion(output, target)` turns a batch of predictions into one number. With
torch's default reduction='mean' that number is an average, which is why every gradient
below carries a 1/N. Each class mirrors torch's: create it once, call it on
(input, target), get a 0-d tensor. backward() belongs to the `backward` exercise: it
returns d loss / d input for the last forward, which is where loss.backward() starts.

Write them from tensor operations (exp, log, max, gather, indexing, sum, mean): F.mse_loss,
F.cross_entropy, F.nll_loss or log_softmax would be the answer itself, and the grader ends
the test if your code calls them. backward() may not use autograd
(the grader notices, in the backward exercise). The output dtype is the input's dtype.
"""
import torch


class MSELoss:
    """loss: mean over all elements of (input - target) ** 2  (nn.MSELoss()).

    input, target: the same shape, any shape. forward returns a 0-d tensor.
    """

    def forward(self, input, target):
        # TODO(loss): the mean squared difference. Keep what backward() will need.
        raise NotImplementedError("loss: implement MSELoss.forward in loss.py")

    def __call__(self, input, target):
        return self.forward(input, target)

    def backward(self):
        """backward: d loss / d input for the last forward call, shaped like input."""
        # TODO(backward): differentiate the mean of squares.
        raise NotImplementedError("backward: implement MSELoss.backward in loss.py")


class CrossEntropyLoss:
    """loss: mean over the batch of -log softmax(input)[target]  (nn.CrossEntropyLoss()).

    input: (N, C) raw scores (logits); target: (N,) int64 class indices in [0, C).
    loss = mean_n( logsumexp(input[n]) - input[n, target[n]] ), a 0-d tensor.
    Must stay finite for logits in the thousands: exp(1000) overflows, so subtract
    each row's maximum first.
    """

    def forward(self, input, target):
        # TODO(loss): a stable log-softmax, then pick each row's target entry.
        raise NotImplementedError("loss: implement CrossEntropyLoss.forward in loss.py")

    def __call__(self, input, target):
        return self.forward(input, target)

    def backward(self):
        """backward: d loss / d input for the last forward call, (N, C).

        (softmax(input) - one_hot(target)) / N.
        """
        # TODO(backward): softmax minus one-hot, divided by the batch size.
        raise NotImplementedError("backward: implement CrossEntropyLoss.backward in loss.py")
