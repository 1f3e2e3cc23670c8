"""The only processes where student code runs.

Started by the grader (kit/sandbox.py) as `python kit/worker/zygote.py FD ROOT CONFIG`:
  1. the first process enters new namespaces and builds a read-only view of the file system
     in the empty folder ROOT (jail.enter), then forks
  2. the zygote: PID 1 of the new PID namespace. It pivots into the view (jail.settle),
     imports torch once, installs the convolution bans, says "ready", and forks one worker
     per request from the grader. It never runs student code.
  3. each worker locks itself (jail.lock: private /tmp, limits, no privileges, seccomp),
     receives the submission's modules as text (it cannot read the submission folder),
     installs the Python-level guards, and serves requests on its own socket:
       {"op": "load", "files": {module: source}}     -> {"ok": True}
       {"op": "import", "module": m}                 -> {"ok": True} | {"error": ...}
       {"op": "run", "driver": d, "kwargs": {...}}   -> {"value": v} | {"error": ...}
Replies use wire.py, never pickle; the grader never trusts a reply to say "passed".
The first message to the grader is "status {...}" (sandboxed or not) or "unavailable REASON",
then "ready" once torch is imported. Where the system offers no sandbox, the first process
says why and exits; the grader then starts it again with CONFIG's "practice" set, and the
walls of steps 1 and 3 are left out. With CONFIG's "probe" set it ends after the status.

This folder is a package of its own: it imports only the standard library, torch, numpy and
its own modules, so nothing of the grader's is ever loaded where student code runs.
"""
import importlib
import importlib.abc
import importlib.util
import json
import linecache
import os
import socket
import sys
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "submission"
HIDDEN_SOURCES = {}  # rule family -> files no worker may read: what the rules forbid (rules.sources)
SEAL = ()  # the machine code each worker overwrites before student code runs (seal.plan)
# The standard library's native modules a student may import: loaded here, since a worker can
# load no native code of its own (jail.lock). Others raise ImportError in a worker.
NATIVE_MODULES = ("math", "cmath", "_random", "_bisect", "_heapq", "_statistics", "array", "_struct", "_json",
                  "_datetime", "_decimal", "_pickle", "_csv", "unicodedata", "_contextvars", "_queue", "binascii",
                  "zlib", "_sha1", "_sha256", "_sha512", "_md5", "_blake2", "_sha3", "_opcode", "_zoneinfo",
                  "_lsprof",  # torch's profiler imports it when an optimizer's step or zero_grad first runs
                  "numpy.fft", "numpy.linalg", "numpy.random",  # numpy loads these on first use
                  "ctypes.wintypes")  # makes ctypes types as it loads, which a sealed worker could not (torch._inductor)
SUBMISSION_DIR = "/submission"  # where student modules appear to live (they exist only in memory)


class Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports `submission.<module>` from source text the grader sent."""

    def __init__(self, files):
        self.files = files

    def find_spec(self, fullname, path, target=None):
        package, _, name = fullname.partition(".")
        if package == PACKAGE and name in self.files:
            return importlib.util.spec_from_loader(fullname, self, origin=f"{SUBMISSION_DIR}/{name}.py")
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__.partition(".")[2]
        filename = f"{SUBMISSION_DIR}/{name}.py"
        raw = self.files[name].encode("utf-8", "surrogateescape")
        module.__file__ = filename
        code = compile(raw, filename, "exec", dont_inherit=True)  # honours a coding line
        text = raw.decode("utf-8", "replace")
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        exec(code, module.__dict__)


def describe_error(exc):
    """Type, message and the innermost place in the student's own files."""
    import wire
    info = {"type": type(exc).__name__, "message": str(exc)[:wire.MAX_TEXT]}
    if isinstance(exc, ImportError) and "failed to map segment" in str(exc):  # jail.lock: every mount is noexec
        info["message"] = (f"{exc.name or 'this module'} is compiled code, which a grading worker cannot load "
                           "(it runs only the native code loaded before it started: torch, numpy, math, random, ...)")
    if isinstance(exc, SyntaxError) and exc.filename:
        info["where"] = f"{os.path.basename(exc.filename)}, line {exc.lineno}"
        info["line"] = (exc.text or "").strip()[:200]
        info["message"] = exc.msg
        return info
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(SUBMISSION_DIR + "/"):
            info["where"] = f"{os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}"
            info["line"] = (frame.line or "").strip()[:200]
            break
    return info


def serve(conn, forbid, solutions_dir, sandboxed, python_guards=True, memory=None):
    import drivers
    import guards
    import shared
    import torch
    import wire
    torch.set_num_threads(1)
    sys.modules[PACKAGE] = types.ModuleType(PACKAGE)
    sys.modules[PACKAGE].__path__ = []
    first = wire.loads(wire.recv(conn))
    if first.get("op") != "load":
        os._exit(3)
    sys.meta_path.insert(0, Sources({str(k): str(v) for k, v in first["files"].items()}))
    wire.send(conn, wire.dumps({"seq": first["seq"], "ok": True}))
    # Modules imported from here on compile from source, never load cached bytecode: the rules
    # refuse marshal.loads (it makes code objects), which importing a .pyc would need.
    sys.pycache_prefix = "/nonexistent-pycache"
    if python_guards:  # off only in the kit's own tests of the operating system's walls
        guards.harden(forbid, solutions_dir, sandboxed)
    if memory is not None and python_guards:  # after the last use of ctypes (the rules' registrations),
        import seal                             # before student code
        seal.apply(memory, SEAL)
    elif memory is not None:  # the kit's tests of the kernel's walls alone use ctypes to make system calls
        os.close(memory)

    def load(module):
        return importlib.import_module(f"{PACKAGE}.{module}")

    while True:
        fds = []
        try:
            data = wire.recv(conn, fds=fds)
        except (EOFError, OSError):
            os._exit(0)
        if fds:  # memory the grader lends for this request (shared.py)
            shared.attach(fds[0])
            for fd in fds[1:]:
                os.close(fd)
        request = wire.loads(data)
        seq = request["seq"]
        drivers.GRADER = drivers.Grader(conn, seq)
        try:
            if request["op"] == "import":
                load(request["module"])
                reply = {"ok": True}
            else:
                value = drivers.DRIVERS[request["driver"]](load, **request["kwargs"])
                reply = {"value": value}
        except drivers.MissingName as e:
            reply = {"error": {"type": "MissingName", "message": str(e)}}
        except BaseException as e:  # KeyboardInterrupt and SystemExit from student code too
            reply = {"error": describe_error(e)}
        reply["seq"] = seq
        try:
            data = wire.dumps(reply)
        except Exception as e:  # a value the format cannot carry
            data = wire.dumps({"seq": seq, "error": {
                "type": "UnsendableResult", "message": f"the result could not be sent back: {e}"}})
        wire.send(conn, data)


def start_worker(fds, forbid, config, sandboxed):
    """In the fresh fork: its own session, ended with the zygote, locked, then serving."""
    import guards
    import jail
    import seal
    os.setsid()
    jail.die_with_parent()
    os.dup2(fds[1], 1)
    os.dup2(fds[1], 2)
    os.dup2(fds[2], guards.EVENTS_FD)
    for fd in fds[1:]:
        os.close(fd)
    conn = socket.socket(fileno=fds[0])
    if sandboxed:
        # every worker: a worker without a rule could otherwise read the code and pass it on
        hide = [path for paths in HIDDEN_SOURCES.values() for path in paths]
        memory = jail.lock(config["memory_bytes"], config["cpu_seconds"], hide)
    else:  # practice mode: sealed where this system allows it
        memory = seal.open_memory() if SEAL else None
    serve(conn, forbid, "" if sandboxed else config.get("solutions", ""), sandboxed,
          config.get("python_guards", True), memory)


def zygote(sock, config, sandboxed):
    """Fork a worker for each request; end one and report its exit status when asked.

    spawn FORBID, with three fds (requests, output, events): a worker guarded for the
    comma-separated FORBID. kill PID: end that worker; the reply is its exit status.
    """
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 8192, 3)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        words = msg.decode().split(" ")
        if words[0] == "spawn" and len(fds) == 3:
            pid = os.fork()
            if pid == 0:
                sock.close()
                try:
                    start_worker(fds, [w for w in words[1].split(",") if w and w != "-"], config, sandboxed)
                except BaseException:
                    traceback.print_exc()  # into the worker's output, which the grader keeps
                finally:
                    os._exit(70)
            for fd in fds:
                os.close(fd)
            sock.send(str(pid).encode())
        elif words[0] == "kill":
            import signal
            for fd in fds:
                os.close(fd)
            try:
                os.kill(int(words[1]), signal.SIGKILL)
                _, status = os.waitpid(int(words[1]), 0)
                sock.send(str(status).encode())
            except (ChildProcessError, ProcessLookupError, ValueError):
                sock.send(b"unknown")


def enter_sandbox(sock, config):
    """Steps 1 and 2. Returns in the zygote (PID 1 of the new namespace) with a note on
    anything the view lacks; the first process stays behind, waiting for it, and ends with it."""
    import jail
    import seccomp_filter
    if not sys.platform.startswith("linux"):
        raise jail.Unavailable(f"no sandbox on {sys.platform} (Linux only)")
    missing = seccomp_filter.available()
    if missing:
        raise jail.Unavailable(missing)
    import seal
    unsealable = seal.available()
    if unsealable:
        raise jail.Unavailable(unsealable)
    jail.enter(config["root"], jail.visible_paths(sys.path, HERE, config["hidden"]))
    pid = os.fork()
    if pid:
        sock.close()
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    jail.die_with_parent()
    import signal
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, signal.SIG_IGN)  # PID 1 of the namespace: nothing there may stop it
    note = jail.settle()
    if note:  # without its own /proc/self/mem a worker cannot seal its raw memory (seal.py)
        raise jail.Unavailable(f"{note}: the workers' raw memory could not be sealed")
    return note


def main():
    sock = socket.socket(fileno=int(sys.argv[1]))
    config = json.loads(sys.argv[2])
    sys.argv[1:] = []  # the workers need not know the kit's paths
    import jail
    jail.die_with_parent()
    note, sandboxed = "", False
    if not config.get("practice"):
        try:
            note, sandboxed = enter_sandbox(sock, config), True
        except (jail.Unavailable, OSError) as e:
            sock.send(b"unavailable " + str(e).encode()[:4000])
            os._exit(0)
    sock.send(b"status " + json.dumps({"sandboxed": sandboxed, "note": note}).encode())
    if config.get("probe"):
        os._exit(0)
    import guards
    import torch
    # Imported once here rather than in every fresh worker: torch.optim so that the optim
    # watch never sees its module code run, and what the first backward(grad) imports (~1 s).
    import torch.optim  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401
    import torch.nested._internal.nested_tensor  # noqa: F401
    for name in NATIVE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # not built into this Python
    import rules
    HIDDEN_SOURCES.update(rules.sources())  # first: it imports every module of a hidden package,
    guards.install_rules()                  # whose functions the rules then find too
    import seal
    global SEAL
    try:
        SEAL = seal.plan()
    except seal.Unavailable:
        if sandboxed:
            raise  # the zygote ends and its output says why: no trusted grade without the seal
    import linecache
    # the source text of every file a warning or traceback showed while the zygote set up (torch's
    # decompositions, its references, torch.nn.functional): an eleventh outside attacker compiled
    # forbidden functions again from it, under another name. Hidden sources stay hidden in memory too.
    linecache.clearcache()
    import gc
    gc.freeze()  # what every worker shares is never examined by the collector, so never copied for it
    sock.send(b"ready")
    zygote(sock, config, sandboxed)


if __name__ == "__main__":
    main()
