"""Reference for the loss exercise (forward) and the losses' backward (backward exercise).
The specification is exercises/loss.py."""
import torch


class MSELoss:
    def forward(self, input, target):
        self.diff = input - target
        return (self.diff ** 2).mean()

    def __call__(self, input, target):
        return self.forward(input, target)

    def backward(self):
        return 2 * self.diff / self.diff.numel()


class CrossEntropyLoss:
    def forward(self, input, target):
        # subtract the row maximum: exp() of large logits would overflow
        shifted = input - input.max(dim=1, keepdim=True).values
        self.log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
        self.target = target
        return -self.log_probs.gather(1, target[:, None]).mean()

    def __call__(self, input, target):
        return self.forward(input, target)

    def backward(self):
        grad = self.log_probs.exp()  # softmax
        grad[torch.arange(len(self.target)), self.target] -= 1
        return grad / len(self.target)
