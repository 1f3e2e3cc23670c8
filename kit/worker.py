"""The only process where student code runs.

Started as `python kit/worker.py FD [SOLUTIONS_DIR]`, it becomes a zygote: it imports torch once,
installs the guards, then forks one worker per request from the grader (kit/sandbox.py),
each for one submission folder. The zygote itself never runs student code.
A fork costs milliseconds, so a worker that student code crashed, hung or tampered with
is simply thrown away and replaced. Each worker serves requests on its own pipe:
  {"op": "import", "module": m}                          -> {"ok": True} | {"error": ...}
  {"op": "run", "driver": d, "kwargs": {...}}  -> {"value": v} | {"error": ...}
Replies use kit/wire.py, never pickle. The grader never trusts a reply to say "passed".
A forbidden call ends the worker (kit/guards.py); the grader learns of it from the exit status.
"""
import importlib
import os
import resource
import socket
import sys
import traceback
import types

os.environ.setdefault("OMP_NUM_THREADS", "1")  # no thread pool before fork; one core per worker
sys.dont_write_bytecode = True  # leave no __pycache__ in the student's folder

import torch  # noqa: E402

import drivers  # noqa: E402
import guards  # noqa: E402
import wire  # noqa: E402

PACKAGE = "submission"


def die_with_parent():
    """Linux: end this process when its parent ends, so that nothing outlives a grader that
    was killed (a worker stuck in an endless loop would otherwise spin on)."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def describe_error(exc, target):
    """Type, message and the innermost place in the student's own files."""
    info = {"type": type(exc).__name__, "message": str(exc)[:wire.MAX_TEXT]}
    if isinstance(exc, SyntaxError) and exc.filename:
        info["where"] = f"{os.path.basename(exc.filename)}, line {exc.lineno}"
        info["line"] = (exc.text or "").strip()[:200]
        info["message"] = exc.msg
        return info
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(target + os.sep):
            info["where"] = f"{os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}"
            info["line"] = (frame.line or "").strip()[:200]
            break
    return info


def serve(conn, target, forbid, solutions_dir):
    if solutions_dir and (target + os.sep).startswith(os.path.realpath(solutions_dir) + os.sep):
        solutions_dir = ""  # grading the reference itself
    torch.set_num_threads(1)
    package = types.ModuleType(PACKAGE)
    package.__path__ = [target]
    sys.modules[PACKAGE] = package
    guards.harden(forbid, solutions_dir)

    def load(module):
        return importlib.import_module(f"{PACKAGE}.{module}")

    while True:
        try:
            request = wire.loads(wire.recv(conn))
        except (EOFError, OSError):
            os._exit(0)
        seq = request["seq"]
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
            reply = {"error": describe_error(e, target)}
        reply["seq"] = seq
        try:
            data = wire.dumps(reply)
        except Exception as e:  # a value the format cannot carry
            data = wire.dumps({"seq": seq, "error": {
                "type": "UnsendableResult", "message": f"the result could not be sent back: {e}"}})
        wire.send(conn, data)


def zygote(sock, solutions_dir):
    """Fork a worker for each request; report exit statuses when asked.

    spawn FORBID TARGET, with three fds (requests, output, events): a worker for the modules
    in TARGET, guarded for the comma-separated FORBID. wait PID: that worker's exit status.
    """
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 8192, 3)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        words = msg.decode().split(" ", 2)
        if words[0] == "spawn":
            forbid, target = words[1].split(","), words[2]
            pid = os.fork()
            if pid == 0:
                sock.close()
                os.setsid()  # its own process group, so the grader can kill all it starts
                die_with_parent()
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                os.dup2(fds[1], 1)
                os.dup2(fds[1], 2)
                os.dup2(fds[2], guards.EVENTS_FD)
                for fd in fds[1:]:
                    os.close(fd)
                serve(socket.socket(fileno=fds[0]), target, forbid, solutions_dir)
            for fd in fds:
                os.close(fd)
            sock.send(str(pid).encode())
        elif words[0] == "wait":
            try:
                _, status = os.waitpid(int(words[1]), 0)
                sock.send(str(status).encode())
            except ChildProcessError:
                sock.send(b"unknown")


def main():
    sock = socket.socket(fileno=int(sys.argv[1]))
    solutions_dir = sys.argv[2] if len(sys.argv) > 2 else ""
    die_with_parent()
    guards.install_op_bans()
    # Imported once here rather than in every fresh worker: torch.optim so that the optim
    # watch never sees its module code run, and what the first backward(grad) imports (~1 s).
    import torch.optim  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401
    import torch.nested._internal.nested_tensor  # noqa: F401
    sock.send(b"ready")
    zygote(sock, solutions_dir)


if __name__ == "__main__":
    main()
