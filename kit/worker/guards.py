"""What student code may not do in the worker, enforced where it cannot be undone.

Forbidden computations end the worker at once, after writing their name to EVENTS_FD: an
exit cannot be caught or hidden by student code, and the grader reads the exit status
(EXIT_FORBIDDEN), not anything the worker says about itself.
- Convolution: a kernel override on every convolution / im2col / col2im operator, in every
  namespace and CPU backend (F.conv2d, nn.Conv2d, torch.conv2d, F.unfold, F.fold, torch.ops.*,
  mkldnn and quantized kernels all end there). Installed once in the zygote, before any
  student module exists. No Python runs for allowed ops, so honest loops stay fast.
- Autograd (when the exercise forbids it): the C call `run_backward`, which Tensor.backward,
  torch.autograd.backward, torch.autograd.grad and torch.autograd.functional all reach
  (torch.func cannot even start in a worker: it needs to write temporary files); torch.optim:
  any call into torch/optim. Both by sys.setprofile, set once per worker for its exercise.
- Reading the reference solutions, however it is tried (import, open, exec of the file).

Then an audit hook (sys.addaudithook: it cannot be removed) refuses what could tamper with
grading: replacing the guards (sys.setprofile/settrace, swapping the code or defaults of a
function of this file), finding them (gc.get_objects/get_referrers), ctypes, writing files, starting
processes, signalling other processes and opening sockets. The guards keep their state in
default arguments, which that hook protects.
"""
import os
import sys
import warnings

import torch

EVENTS_FD = 1021  # the worker's end of the events pipe is moved here, so guards know it
EXIT_FORBIDDEN = 86

_BANNED_NAMESPACES = ("aten", "mkldnn", "quantized", "_quantized", "onednn", "mkldnn_prepacked")
_BANNED_KEYS = ("CPU", "MkldnnCPU", "QuantizedCPU")


def _banned_ops():
    for full in sorted(torch._C._dispatch_get_all_op_names()):
        ns, name = full.split("::", 1)
        base = name.split(".")[0]
        conv = ("conv" in base and "convert" not in base) or base in ("im2col", "col2im")
        fused_optimizer = base.startswith("_fused_") and any(k in base for k in ("sgd", "adam", "adagrad"))
        if ns in _BANNED_NAMESPACES and (conv or fused_optimizer):
            yield ns, name


def _forbidden(name, _write=os.write, _exit=os._exit, _fd=EVENTS_FD, _code=EXIT_FORBIDDEN):
    try:
        _write(_fd, name.encode() + b"\n")
    finally:
        _exit(_code)


def install_op_bans():
    """In the zygote: every banned operator's CPU kernels end the worker instead.

    A Library undoes its overrides when it is collected or its finalizer runs. Each one is
    kept alive only by its own kernels' default arguments, and its finalizer is detached,
    so no name that student code can reach leads back to it.
    """
    import weakref
    libraries = {}
    for ns, name in _banned_ops():
        lib = libraries.get(ns) or libraries.setdefault(ns, torch.library.Library(ns, "IMPL"))

        def kernel(*args, _name=f"{ns}::{name.split('.')[0]}", _forbidden=_forbidden, _lib=lib, **kwargs):
            _forbidden(_name)
        for key in _BANNED_KEYS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    lib.impl(name, kernel, key)
                except RuntimeError:
                    pass  # no kernel of this kind for this operator
    for finalizer, info in list(weakref.finalize._registry.items()):
        if any(info.weakref() is lib for lib in libraries.values()):
            finalizer.detach()


def _profile(frame, event, arg, _forbid=frozenset(),
             _optim_dir=os.path.dirname(torch.optim.__file__) + os.sep, _forbidden=_forbidden):
    if event == "c_call":
        if "autograd" in _forbid and getattr(arg, "__name__", "") == "run_backward":
            _forbidden("autograd")
    elif event == "call" and "torch.optim" in _forbid:
        code = frame.f_code
        if code.co_filename.startswith(_optim_dir) and code.co_name != "<module>":
            _forbidden("torch.optim")


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_REFUSED = {
    "sys.setprofile": "replacing the grader's guards", "sys.settrace": "replacing the grader's guards",
    "gc.get_objects": "searching the grader's objects", "gc.get_referrers": "searching the grader's objects",
    "gc.get_referents": "searching the grader's objects",
    "os.fork": "starting processes", "os.forkpty": "starting processes", "os.system": "starting processes",
    "os.exec": "starting processes", "os.posix_spawn": "starting processes", "os.spawn": "starting processes",
    "subprocess.Popen": "starting processes", "pty.spawn": "starting processes",
    "os.kill": "signalling processes", "os.killpg": "signalling processes",
    "signal.pthread_kill": "signalling processes",
    "os.remove": "changing files", "os.rename": "changing files", "os.rmdir": "changing files",
    "os.mkdir": "changing files", "os.chmod": "changing files", "os.chown": "changing files",
    "os.link": "changing files", "os.symlink": "changing files", "os.truncate": "changing files",
    "os.utime": "changing files", "shutil.rmtree": "changing files", "shutil.move": "changing files",
}


_GUARDS_ONLY = {k: v for k, v in _REFUSED.items() if v in ("replacing the grader's guards", "searching the grader's objects")}


def _audit(event, args, _refused=_REFUSED, _solutions="", _forbidden=_forbidden,
           _write_flags=_WRITE_FLAGS, _realpath=os.path.realpath, _sep=os.sep, _fspath=os.fspath,
           _ours=__file__, _policing=True):
    if event in _refused:
        raise PermissionError(f"not allowed while grading: {_refused[event]} ({event})")
    if event == "object.__setattr__" and args[1] in ("__code__", "__defaults__", "__kwdefaults__") \
            and getattr(getattr(args[0], "__code__", None), "co_filename", None) == _ours:
        raise PermissionError("not allowed while grading: replacing the grader's guards")
    if not _policing:
        return  # sandboxed: files, processes, signals and sockets are the kernel's business
    if event.startswith(("ctypes.", "socket.")):
        raise PermissionError(f"not allowed while grading: {event}")
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return
        try:
            path = _realpath(_fspath(path))
        except TypeError:
            return
        if _solutions and (path == _solutions or path.startswith(_solutions + _sep)):
            _forbidden("solutions")
        if (mode and any(c in mode for c in "wax+")) or (flags or 0) & _write_flags:
            raise PermissionError(f"not allowed while grading: writing files ({path})")


def harden(forbid, solutions_dir, sandboxed=False):
    """In a fresh worker, before any student code: the profile watch, then the audit hook.

    The exercise's policy goes into the hooks' default arguments here, the last moment
    they can be changed: the audit hook refuses any change once it is installed.
    """
    forbid = frozenset(forbid) & {"autograd", "torch.optim"}
    if forbid:
        _profile.__defaults__ = (forbid,) + _profile.__defaults__[1:]
        sys.setprofile(_profile)
    defaults = list(_audit.__defaults__)
    if solutions_dir:
        defaults[:2] = [_REFUSED, os.path.realpath(solutions_dir)]
    if sandboxed:
        defaults[0], defaults[-1] = _GUARDS_ONLY, False
    _audit.__defaults__ = tuple(defaults)
    sys.addaudithook(_audit)
