"""The rules manifest.toml's `forbid` may name; a worker enforces exactly its exercise's list.

Kept apart from guards.py (which imports torch) so that the grader can check a manifest
before torch loads. What each rule covers: rules.py; what students read: kit/messages.py.
"""
RULES = ("autograd", "torch.optim", "convolution", "layers", "losses")
