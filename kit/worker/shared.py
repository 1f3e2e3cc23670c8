"""Tensors the grader lends the worker by memory, so that what student code does to them in
place is seen by the grader itself, not reported by the worker.

The grader writes the tensors into one memfd (Region), sends its descriptor with the
request, and reads the same memory after the call (Region.now). The worker maps it
(attach) and hands student code tensors that live in that memory. Whether a gradient was
zeroed in place, or a parameter updated in place step after step, is then a fact the
grader observes: student code cannot rewrite it, only compute it.
"""
from __future__ import annotations

import fcntl
import mmap
import os

import torch

ALIGN = 64


class Lent:
    """Stands, in a message, for tensor `index` of a Region."""

    def __init__(self, region: "Region", index: int):
        self.region, self.index = region, index


class Region:
    """Grader side: tensors copied into shared memory."""

    def __init__(self, tensors: list[torch.Tensor]):
        self.items, offset = [], 0
        for t in tensors:
            t = t.detach().contiguous()
            self.items.append((offset, t.dtype, tuple(t.shape), t.numel() * t.element_size()))
            offset += -(-max(self.items[-1][3], 1) // ALIGN) * ALIGN
        self.size = max(offset, ALIGN)
        self.fd = os.memfd_create("grader-lent", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(self.fd, self.size)
        # Sealed at this size: the worker can write the memory, never shrink it under the
        # grader's mapping (a read past a file's end would kill the grader with SIGBUS).
        fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        self.map = mmap.mmap(self.fd, self.size)
        for k, t in enumerate(tensors):
            self.view(k).copy_(t.detach())
        LIVE.add(self)

    def __getitem__(self, index: int) -> Lent:
        return Lent(self, index)

    def lent(self) -> list[Lent]:
        return [Lent(self, k) for k in range(len(self.items))]

    def view(self, index: int) -> torch.Tensor:
        """The live memory of tensor `index` (changes when the worker changes it)."""
        return _view(self.map, *self.items[index][:3])

    def now(self, index: int) -> torch.Tensor:
        """A copy of tensor `index` as the worker has left it."""
        return self.view(index).clone()

    def node(self, index: int) -> dict:
        offset, dtype, shape, _ = self.items[index]
        return {"lent": index, "offset": offset, "dtype": str(dtype).split(".")[1], "shape": list(shape)}

    def close(self):
        LIVE.discard(self)
        self.map.close()
        os.close(self.fd)


LIVE: set = set()  # the grader's open regions: closed after each grading test (close_all)


def close_all() -> None:
    for region in list(LIVE):
        region.close()


def _view(buffer, offset, dtype, shape):
    numel = 1
    for s in shape:
        numel *= s
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    return tensor_over(buffer, dtype, shape, offset)


def tensor_over(buffer, dtype: torch.dtype, shape, offset: int = 0) -> torch.Tensor:
    """A tensor whose storage is buffer's memory, keeping buffer exported while it lives.

    Through numpy, not torch.frombuffer: numpy holds the buffer (its owner can then neither
    free, shrink nor move it: mmap.close, bytearray.extend raise), torch.frombuffer does not --
    a tensor left over freed memory is raw memory, and workers have torch.frombuffer sealed
    (seal.py). The tensor is no view of another (detach_() works on it, as on any parameter)."""
    import numpy as np
    numel = 1
    for s in shape:
        numel *= s
    try:
        np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
    except TypeError:  # bfloat16: numpy has none; its bits, seen as torch's dtype
        np_dtype = np.dtype(f"u{dtype.itemsize}")
    array = np.frombuffer(buffer, dtype=np_dtype, count=numel, offset=offset).reshape(shape)
    tensor = torch.from_numpy(array)
    return tensor if tensor.dtype == dtype else tensor.view(dtype)


_attached: list = []  # worker side: the memory of the request being served


def attach(fd: int) -> None:
    """Worker side: map the memory sent with a request (the previous one is let go)."""
    size = os.fstat(fd).st_size
    _attached[:] = [mmap.mmap(fd, size)]
    os.close(fd)


def lent_tensor(node: dict, dtype: torch.dtype) -> torch.Tensor:
    """Worker side: the tensor a {"lent": ...} node stands for, living in the shared memory."""
    if not _attached:
        raise ValueError("a lent tensor arrived without its memory")
    buffer = _attached[0]
    shape = [int(s) for s in node["shape"]]
    offset = int(node["offset"])
    numel = 1
    for s in shape:
        numel *= s
    if offset < 0 or offset + numel * dtype.itemsize > len(buffer):
        raise ValueError("a lent tensor lies outside its memory")
    return _view(buffer, offset, dtype, shape)
