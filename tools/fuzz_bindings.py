"""Which of torch's C bindings crash on bogus arguments, and whether grading's seal covers each.

    python tools/fuzz_bindings.py

Run it after upgrading torch. Every module function of torch._C (and its submodules) and every
method of its storages, tensors, generators and the classes that can be made with no arguments is
called, in a forked child each, with bogus arguments: an address, -1, None, a list, a string, a
tensor. A binding that crashes its child reads what it was given as memory -- a raw-memory tool
in a worker unless kit/worker/seal.py traps, deletes or bans it. Prints each crash with how the
seal covers it, and exits 1 if one is not covered (KNOWN: crashes that only dereference NULL).
"""
import os
import resource
import signal
import sys
import types

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kit", "worker"))
import seal  # noqa: E402  (the worker's module, loaded as the worker does)

BOGUS = 0x414141414140
ARGUMENTS = ((BOGUS,), (BOGUS, 8), (8, BOGUS), (-1,), (None,), ([BOGUS],), ((BOGUS, BOGUS),), ("x" * 64,),
             (b"x" * 64,), (torch.zeros(2),))
# crashes that dereference NULL (None passed where an object is expected): a crash, not memory
KNOWN = ("Graph.", "StorageBase.__delitem__", "_FunctionBase._register_hook_dict")
CRASHES = (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGABRT, signal.SIGFPE)


def crashes(call):
    pid = os.fork()
    if pid == 0:
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        signal.alarm(3)
        try:
            call()
        except BaseException:  # noqa: BLE001 -- a refusal is what a binding should do
            pass
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) in CRASHES


def bindings():
    """(name, a function returning the binding) for every binding fuzzed."""
    modules = [torch._C] + [m for m in vars(torch._C).values()
                            if isinstance(m, types.ModuleType) and m.__name__.startswith("torch._C")]
    for module in modules:
        for name, value in vars(module).items():
            if callable(value) and not isinstance(value, type):
                yield f"{module.__name__}.{name}", (lambda value=value: value)
    makers = {torch._C.StorageBase: lambda: torch.UntypedStorage(64), torch._C.TensorBase: lambda: torch.zeros(8),
              torch._C.Generator: torch.Generator}
    for cls in vars(torch._C).values():
        if isinstance(cls, type) and cls not in makers and not crashes(cls):
            try:
                cls()
                makers[cls] = cls
            except Exception:  # noqa: BLE001 -- needs arguments: not fuzzed
                pass
    for cls, make in makers.items():
        for name, value in vars(cls).items():
            if callable(value) and (not name.startswith("__") or name in ("__setstate__", "__setitem__", "__delitem__")):
                yield f"{cls.__name__}.{name}", (lambda make=make, name=name: getattr(make(), name))


def covered(name):
    denied = seal.denied_bindings(torch)
    short = name[len("torch._C."):] if name.startswith("torch._C.") else name
    if name in denied or short in seal._TORCH_DELETED:
        return "banned or deleted"
    owner, _, method = name.rpartition(".")
    if owner == "StorageBase" and method in seal.storage_trapped(torch):
        return "a trap"
    if any(owner == o.rpartition(".")[2] and method == m for o, m in seal._TRAPPED):
        return "a trap"
    return ""


def main():
    import tempfile
    os.chdir(tempfile.mkdtemp(prefix="fuzz_bindings."))  # a binding given a string may write a file by that name
    uncovered = 0
    for name, get in bindings():
        if name.startswith("torch._C._exit") or "abort" in name:
            continue
        for arguments in ARGUMENTS:
            if crashes(lambda get=get, arguments=arguments: get()(*arguments)):
                how = covered(name) or ("known: " + next(k for k in KNOWN if name.startswith(k))
                                        if any(name.startswith(k) for k in KNOWN) else "")
                uncovered += not how
                print(f"{name}{repr(arguments)[:40]} crashes: {how or 'NOT COVERED'}", flush=True)
                break
    print(f"{uncovered} crashing binding(s) not covered")
    return 1 if uncovered else 0


if __name__ == "__main__":
    sys.exit(main())
