"""Seeded random cases: every random choice a grading test makes comes from here.

Each test case gets its own generator, derived from the run's seed and the case's name,
so a case is the same whatever else runs, and `--seed N` reproduces any report.
"""
import hashlib
from dataclasses import dataclass, field

import torch


def derive_seed(seed, *names):
    digest = hashlib.sha256(":".join([str(seed), *names]).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class Rng:
    """A torch.Generator with the few helpers the tests need."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def int(self, lo, hi):
        """A whole number in [lo, hi], both ends included."""
        return int(torch.randint(lo, hi + 1, (1,), generator=self.gen))

    def choice(self, options):
        return options[self.int(0, len(options) - 1)]

    def pair(self, lo, hi):
        """An int, or a pair of ints: torch accepts both, so the tests send both."""
        a, b = self.int(lo, hi), self.int(lo, hi)
        return self.choice([a, (a, b)])

    def randn(self, *shape, dtype=torch.float64, scale=1.0):
        return torch.randn(*shape, generator=self.gen, dtype=dtype) * scale

    def dtype(self):
        return self.choice([torch.float32, torch.float64])


@dataclass
class Case:
    """One concrete input: a label that names it in messages, plus its data."""
    label: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __str__(self):
        return self.label


def shape_of(x):
    return "x".join(str(s) for s in x.shape) if x.dim() else "scalar"


def dtype_name(x):
    return str(x.dtype).replace("torch.", "")


def describe(**named):
    """describe(input=t, stride=2) -> 'input 2x3x5x5 float64, stride=2'."""
    parts = []
    for name, value in named.items():
        if isinstance(value, torch.Tensor):
            parts.append(f"{name} {shape_of(value)} {dtype_name(value)}")
        elif value is None:
            parts.append(f"{name}=None")
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)
