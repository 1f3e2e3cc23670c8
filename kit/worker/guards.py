"""What student code may not do in the worker, enforced where it cannot be undone.

Forbidden computations end the worker at once, after writing their name to EVENTS_FD: an
exit cannot be caught or hidden by student code, and the grader reads the exit status
(EXIT_FORBIDDEN), not anything the worker says about itself.
- The exercises' rules (autograd, torch.optim, convolution, layers, losses), switched on per
  worker by its exercise's `forbid` list, exactly as written there: rules.py says how each is
  enforced (torch's operators at the dispatcher, so no Python runs for allowed ops and honest
  loops stay fast; the rest through the profile hook and stubs).
- Reading the reference solutions, however it is tried (import, open, exec of the file).

Then an audit hook (sys.addaudithook: it cannot be removed) refuses what could tamper with
grading: replacing the guards (sys.setprofile/settrace, swapping or reading the code or
defaults of a guard function), finding them (gc.get_objects/get_referrers), ctypes (it writes
any memory), making code objects, re-importing or re-running a module the zygote loaded (that
would bring back pristine copies of what the rules replaced), and -- where no OS sandbox does
it -- writing files, starting processes, signalling other processes and opening sockets. The
hooks keep their state in tuples bound to them (types.MethodType): a function's defaults and
closure cells can be rewritten without any audit event, a bound tuple cannot. This module and
rules.py leave sys.modules before student code runs.
"""
import os
import resource
import sys
import types

# the worker's end of the events pipe is moved here, so guards know it: high, but under any
# descriptor limit the grader may run with (the worker's own limit is set later, and lower)
EVENTS_FD = max(10, min(1021, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 1))
try:  # what the grader and the worker share
    from contract import EXIT_FORBIDDEN, RULES as _RULE_NAMES  # in the worker, its modules are top-level
except ImportError:
    from .contract import EXIT_FORBIDDEN, RULES as _RULE_NAMES  # imported by the kit's tests

RULES = frozenset(_RULE_NAMES)

def _forbid(state, name):
    try:
        state[0](state[2], name.encode() + b"\n")
    finally:
        state[1](state[3])


# A bound method over a tuple: what it uses cannot be swapped (a function's defaults and
# closure cells can be, with no audit event; a tuple and a bound method cannot).
_forbidden = types.MethodType(_forbid, (os.write, os._exit, EVENTS_FD, EXIT_FORBIDDEN))


_PREPARED = None


def install_rules():
    """In the zygote, after its imports: what every worker's rules need (rules.prepare)."""
    import rules
    import seal
    global _PREPARED
    seal.bindings(_forbidden)  # first: where a rule forbids one of them too, its stub names the rule
    _PREPARED = rules.prepare()
    seal.operators(_forbidden)


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
# (event, why) pairs, kept in tuples: no rule state may be a mapping, since a mappingproxy hands
# its dict to any object it is compared with (proxy == obj calls obj.__eq__(the dict))
_REFUSED = tuple({
    "sys.setprofile": "replacing the grader's guards", "sys.settrace": "replacing the grader's guards",
    # CPython runs audit hooks with tracing off: code in a student's hook would pass unseen by the profile hook
    "sys.addaudithook": "replacing the grader's guards",
    "code.__new__": "making code objects", "code.replace": "making code objects",
    "marshal.loads": "making code objects", "marshal.load": "making code objects",
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
}.items())
_GUARDS_ONLY = tuple((k, v) for k, v in _REFUSED if v in (
    "replacing the grader's guards", "searching the grader's objects", "making code objects"))
_STATE = frozenset(("__code__", "__defaults__", "__kwdefaults__"))


def _plain(t, x):
    """x as a plain str if it is a str, else None -- without calling any method of x.

    Hooks run with tracing off: a method of a student's object (a str subclass's __hash__,
    __eq__ or __format__, passed to sys.audit or as a code object's file name) called from a
    hook would run unseen by the profile hook. t: (issubclass, type, str, str.__str__)."""
    return t[3](x) if t[0](t[1](x), t[2]) else None


_text = types.MethodType(_plain, (issubclass, type, str, str.__str__))

# The audit hook's state, a plain tuple (see _forbidden), in this order:
_AUDIT_STATE = ("refused", "solutions", "guards", "loaded", "files", "forbidden", "write_flags", "realpath",
                "sep", "fspath", "state_names", "id", "type", "bytes", "code", "error", "policing", "text", "reasons")


def _audit(s, event, args):  # noqa: C901  (one flat list of refusals, read top to bottom)
    # Nothing here calls a method of an object student code made (see _plain): only ids, exact
    # types and plain copies of str arguments are looked at.
    if event == "object.__getattr__":  # the most frequent event: the profile hook reads f_code
        if s[17](args[1]) in s[10] and s[11](args[0]) in s[2]:
            raise s[15]("not allowed while grading: reading the grader's guards")
        return
    if event in s[0]:
        why = next(reason for name, reason in s[18] if name == event)
        raise s[15](f"not allowed while grading: {why} ({event})")
    if event == "object.__setattr__":
        if s[11](args[0]) in s[2]:
            raise s[15]("not allowed while grading: replacing the grader's guards")
        return
    if event == "import":
        name = s[17](args[0])
        if name in s[3]:  # a second copy would bring back what the rules replaced
            raise s[15](f"not allowed while grading: importing {name} again")
        if len(args) > 1 and s[17](args[1]) in s[4]:  # the same file under another name (_imp.create_dynamic)
            raise s[15]("not allowed while grading: loading a loaded module's file again")
        return
    if event == "exec":
        if s[12](args[0]) is s[14] and s[17](args[0].co_filename) in s[4]:
            raise s[15]("not allowed while grading: running a loaded module's code again")
        return
    if event == "compile":
        if s[17](args[1]) in s[4]:
            raise s[15]("not allowed while grading: compiling a loaded module again")
        return
    if event.startswith("ctypes."):  # raw memory: with it, any guard could be undone
        raise s[15](f"not allowed while grading: {event}")
    if not s[16]:
        return  # sandboxed: files, processes, signals and sockets are the kernel's business
    if event.startswith("socket."):
        raise s[15](f"not allowed while grading: {event}")
    if event == "open":
        path, mode, flags = args
        if s[12](path) is int:
            return
        text = s[17](path)
        if text is None:
            if s[12](path) is not s[13]:
                raise s[15]("not allowed while grading: opening a file by a path object (give its path as a str)")
            text = path.decode("utf-8", "surrogateescape")  # a plain bytes: its method cannot be replaced
        path, mode = s[7](text), s[17](mode)
        if s[1] and (path == s[1] or path.startswith(s[1] + s[8])):
            s[5]("solutions")
        writes = (flags or 0) & s[6]
        for c in (mode or ""):
            writes = writes or c in "wax+"
        if writes:
            raise s[15](f"not allowed while grading: writing files ({path})")


def harden(forbid, solutions_dir, sandboxed=False):
    """In a fresh worker, before any student code: the exercise's rules, then the audit hook.

    The policy goes into the hooks here, as tuples bound to them: nothing can change a tuple, and
    the audit hook refuses replacing the hooks' code once it is installed.
    """
    import rules
    global _PREPARED
    prepared, _PREPARED = _PREPARED, None
    forbid = frozenset(forbid) & RULES
    codes, c_names, prefixes, survivors = rules.arm(prepared, forbid, _forbidden)
    if any(ids for _, ids in codes) or any(names for _, names in c_names) or prefixes:
        sys.setprofile(types.MethodType(rules._profile, (
            frozenset(i for _, ids in codes for i in ids), frozenset(n for _, names in c_names for n in names),
            _forbidden, id, getattr, prefixes, str.startswith, codes, c_names, survivors)))  # survivors: kept alive
    guards = prepared.guard_ids | frozenset(map(id, (_forbid, _audit, harden, _plain, _text)))
    files = prepared.files
    for name in ("guards", "rules"):
        sys.modules.pop(name, None)
    refused = _GUARDS_ONLY if sandboxed else _REFUSED
    state = {"refused": frozenset(name for name, _ in refused), "reasons": refused,
             "solutions": os.path.realpath(solutions_dir) if solutions_dir else "",
             "guards": guards, "loaded": frozenset(sys.modules) | {"guards", "rules"}, "files": files,
             "forbidden": _forbidden, "write_flags": _WRITE_FLAGS, "realpath": os.path.realpath, "sep": os.sep,
             "fspath": os.fspath, "state_names": _STATE, "id": id, "type": type, "bytes": bytes,
             "code": types.CodeType, "error": PermissionError, "policing": not sandboxed, "text": _text}
    hook = types.MethodType(_audit, tuple(state[k] for k in _AUDIT_STATE))
    del prepared, state
    sys.addaudithook(hook)
