"""Reference for the cnn exercise. The specification is exercises/cnn.py."""
from .backward import linear_backward, relu_backward
from .conv2d import conv2d
from .conv2d_backward import conv2d_backward
from .forward import linear, relu


class CNN:
    def __init__(self, w1, b1, w2, b2, w3, b3):
        self.w1, self.b1, self.w2, self.b2, self.w3, self.b3 = w1, b1, w2, b2, w3, b3

    def parameters(self):
        return [self.w1, self.b1, self.w2, self.b2, self.w3, self.b3]

    def forward(self, x):
        # keep what backward needs: each layer's input and each relu's pre-activation
        self.x = x
        self.h1 = conv2d(x, self.w1, self.b1, stride=1, padding=1)
        self.a1 = relu(self.h1)
        self.h2 = conv2d(self.a1, self.w2, self.b2, stride=2, padding=1)
        self.a2 = relu(self.h2)
        self.flat = self.a2.reshape(self.a2.shape[0], -1)  # (N, C2*H2*W2): channel, then row, then column
        return linear(self.flat, self.w3, self.b3)

    def __call__(self, x):
        return self.forward(x)

    def backward(self, grad_output):
        grad_flat, grad_w3, grad_b3 = linear_backward(grad_output, self.flat, self.w3)
        grad_h2 = relu_backward(grad_flat.reshape(self.a2.shape), self.h2)
        grad_a1, grad_w2, grad_b2 = conv2d_backward(grad_h2, self.a1, self.w2, stride=2, padding=1)
        grad_h1 = relu_backward(grad_a1, self.h1)
        grad_x, grad_w1, grad_b1 = conv2d_backward(grad_h1, self.x, self.w1, stride=1, padding=1)
        for p, g in zip(self.parameters(), (grad_w1, grad_b1, grad_w2, grad_b2, grad_w3, grad_b3)):
            if p.grad is None:
                p.grad = g
            else:
                p.grad += g  # loss.backward() accumulates
        return grad_x
