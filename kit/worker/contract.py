"""What the grader and the worker agree on, importable on both sides without torch.

RULES: what manifest.toml's `forbid` may name; a worker enforces exactly its exercise's list
(rules.py says how; kit/messages.py says it to students). EXIT_FORBIDDEN: the status a worker
ends with after a forbidden call (guards.py), which the grader reads (kit/sandbox.py).
"""
RULES = ("autograd", "torch.optim", "convolution", "layers", "losses")
EXIT_FORBIDDEN = 86
