"""Forbidden calls, caught inside the worker at the level where they cannot be dodged.

Three nets, each at a chokepoint that every route to the forbidden thing must cross:
- convolution: a kernel override on every aten convolution / im2col / col2im operator
  (F.conv2d, nn.Conv2d, torch.conv2d, F.unfold, F.fold and torch.ops.aten.* all end there).
  Installed once in the zygote, before any student module exists, so aliases taken at
  import time are caught too. No Python runs for the allowed ops, so honest loops stay fast.
- autograd: the C call `run_backward`, which Tensor.backward, torch.autograd.backward,
  torch.autograd.grad and torch.func all reach.
- torch.optim: any function call into torch/optim (the classes and the functional forms).
The last two use sys.setprofile and are switched on only for the exercises that forbid them;
they record the call and let it run.

A violation is recorded in EVENTS even when student code catches the exception,
and the grader turns it into a zero for that test.
"""
import importlib.abc
import os
import sys

import torch

EVENTS = []  # names of forbidden things touched during the current call

CONV_OPS = (
    "convolution", "_convolution", "_convolution.deprecated", "_convolution_mode",
    "convolution_overrideable", "conv1d", "conv1d.padding", "conv2d", "conv2d.padding",
    "conv3d", "conv3d.padding", "conv_transpose1d", "conv_transpose2d.input",
    "conv_transpose3d.input", "conv_tbc", "_conv_depthwise2d", "conv_depthwise3d",
    "mkldnn_convolution", "_slow_conv2d_forward", "thnn_conv2d", "slow_conv_dilated2d",
    "slow_conv_dilated3d", "slow_conv_transpose2d", "slow_conv_transpose3d", "slow_conv3d",
    "slow_conv3d_forward", "_nnpack_spatial_convolution", "im2col", "col2im",
    "convolution_backward",
)


class ForbiddenCall(RuntimeError):
    pass


_libraries = []  # kept alive: dropping a Library removes its kernels


def install_conv_ban():
    import warnings
    lib = torch.library.Library("aten", "IMPL")
    for op in CONV_OPS:
        name = "aten::" + op.split(".")[0]

        def kernel(*args, _name=name, **kwargs):
            EVENTS.append(_name)
            raise ForbiddenCall(f"{_name} is not allowed in these exercises")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                lib.impl(op, kernel, "CPU")
            except RuntimeError:
                pass  # an operator this build of torch does not have
    _libraries.append(lib)


class _BlockSolutions(importlib.abc.MetaPathFinder):
    """The reference solutions must never be importable from student code."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "solutions" or fullname.startswith("solutions."):
            EVENTS.append("import solutions")
            raise ImportError("importing the reference solutions is not allowed")
        return None


def install_import_block():
    sys.meta_path.insert(0, _BlockSolutions())


_OPTIM_DIR = os.path.dirname(torch.optim.__file__) + os.sep


def _profile(forbid):
    # Record, don't raise: an exception from a profile hook switches the hook off,
    # and the recorded event alone already makes the test score zero.
    def hook(frame, event, arg):
        if event == "c_call":
            if "autograd" in forbid and getattr(arg, "__name__", "") == "run_backward":
                EVENTS.append("autograd")
        elif event == "call" and "torch.optim" in forbid:
            code = frame.f_code
            if code.co_filename.startswith(_OPTIM_DIR) and code.co_name != "<module>":
                EVENTS.append("torch.optim")
    return hook


class watch:
    """with watch({"autograd", "torch.optim"}): run student code."""

    def __init__(self, forbid):
        self.forbid = set(forbid) & {"autograd", "torch.optim"}

    def __enter__(self):
        if self.forbid:
            sys.setprofile(_profile(self.forbid))

    def __exit__(self, *exc):
        sys.setprofile(None)
