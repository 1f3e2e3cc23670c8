"""The grader's handle on the worker process (kit/worker.py), where student code runs.

Everything student code can do to a process -- exit it, crash it, hang it, patch torch
inside it -- happens over there; here it shows up as an Outcome for one call, and the
worker is killed (with its whole process group) and replaced by a fresh fork.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "worker.py")
SOLUTIONS = os.path.join(os.path.dirname(HERE), "solutions")
EXIT_FORBIDDEN = 86  # kit/guards.py ends a worker with this status after a forbidden call
STARTUP_TIMEOUT = 180.0


@dataclass
class Outcome:
    """What one request to the worker came to.

    kind: "value" (value holds the decoded result), "error" (student code raised;
    error holds type, message, where, line), "forbidden" (events names what was called),
    "crash", "timeout" or "broken" (detail says).
    """
    kind: str
    value: object = None
    error: dict = field(default_factory=dict)
    detail: str = ""
    events: list = field(default_factory=list)
    module: str = ""  # set when it happened while importing this student module


def _describe_status(status):
    if status is None:
        return "your code ended the worker process"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = {signal.SIGSEGV: "a segmentation fault", signal.SIGABRT: "an abort",
                signal.SIGKILL: "being killed (out of memory?)", signal.SIGBUS: "a bus error",
                signal.SIGFPE: "a floating-point exception"}.get(sig, signal.Signals(sig).name)
        return f"the worker process crashed with {name}"
    return f"your code exited the process (exit code {os.WEXITSTATUS(status)})"


class Zygote:
    """The process that imports torch once and forks workers; one can serve many Sandboxes.

    solutions_dir: the reference solutions, which workers may not read (default: the kit's).
    """

    def __init__(self, solutions_dir=SOLUTIONS):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = tempfile.TemporaryFile()  # the zygote's own output, shown if it fails to start
        self.process = subprocess.Popen(
            [sys.executable, "-B", WORKER, str(theirs.fileno()), solutions_dir], pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True)
        theirs.close()
        self.sock, self.ready = ours, False

    def _wait_ready(self):
        if not self.ready:
            self.sock.settimeout(STARTUP_TIMEOUT)
            try:
                msg = self.sock.recv(64)
            except OSError:
                msg = b""
            self.sock.settimeout(None)
            if msg != b"ready":
                self.log.seek(0)
                tail = self.log.read()[-2000:].decode(errors="replace")
                raise RuntimeError(f"the grading worker did not start:\n{tail}")
            self.ready = True

    def spawn(self, target, output, forbid):
        """A fresh worker for the modules in target, guarded for `forbid`.

        Returns (pid, requests connection, read end of its events pipe); its output goes to
        the file `output`.
        """
        self._wait_ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        events_r, events_w = os.pipe()
        message = f"spawn {','.join(sorted(forbid)) or '-'} {target}".encode()
        socket.send_fds(self.sock, [message], [theirs.fileno(), output.fileno(), events_w])
        theirs.close()
        os.close(events_w)
        os.set_blocking(events_r, False)
        return int(self.sock.recv(64)), ours, events_r

    def wait(self, pid):
        """The exit status of a worker that has ended (or was killed)."""
        self.sock.send(f"wait {pid}".encode())
        reply = self.sock.recv(64)
        return int(reply) if reply.isdigit() else None

    def close(self):
        self.sock.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


class Sandbox:
    def __init__(self, target, timeout, zygote=None):
        self.target, self.timeout = os.path.realpath(target), timeout
        self.output = tempfile.TemporaryFile()  # what student code prints
        self.zygote, self.owns_zygote = zygote or Zygote(), zygote is None
        self.pid = self.conn = self.events = None
        self.policy = frozenset()  # what the current worker is guarded against
        self.seq = 0
        self.imports = {}  # (module, policy) -> Outcome of a failed import (kept for the whole run)
        self.imported = set()  # modules the current worker has imported

    def _spawn(self):
        self.pid, self.conn, self.events = self.zygote.spawn(self.target, self.output, self.policy)
        self.imported = set()

    def kill(self):
        """Kill the current worker and everything it started.

        Returns (exit status, forbidden events it reported before ending).
        """
        if self.pid is None:
            return None, []
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.conn.close()
        status = self.zygote.wait(self.pid)
        try:
            raw = os.read(self.events, 65536)
        except BlockingIOError:
            raw = b""
        os.close(self.events)
        self.pid = self.conn = self.events = None
        events = [e for e in raw.decode(errors="replace").split("\n") if e][:10]
        return status, events

    def recycle(self):
        """Start the next request in a fresh worker."""
        self.kill()

    def close(self):
        self.kill()
        if self.owns_zygote:
            self.zygote.close()
        self.output.close()

    # -- requests -----------------------------------------------------------------
    def _request(self, message, timeout):
        from . import wire  # imports torch: kept out of start-up so the zygote starts first
        if self.pid is None:
            self._spawn()
        self.seq += 1
        message["seq"] = self.seq
        try:
            deadline = time.monotonic() + timeout
            self.conn.settimeout(timeout)  # a worker that stops reading cannot block us either
            wire.send(self.conn, wire.dumps(message))
            reply = wire.loads(wire.recv(self.conn, deadline=deadline))
        except TimeoutError:
            self.kill()
            return Outcome("timeout", detail=f"took longer than {timeout:g} s (stopped)")
        except (EOFError, OSError):
            status, events = self.kill()
            if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_FORBIDDEN:
                return Outcome("forbidden", events=events or ["unknown"])
            return Outcome("crash", detail=_describe_status(status))
        except wire.WireError as e:
            self.kill()
            return Outcome("broken", detail=f"the worker sent a malformed reply ({e})")
        except BaseException:  # interrupted (Ctrl-C, pytest-timeout): the worker is out of step
            self.kill()
            raise
        if not isinstance(reply, dict) or reply.get("seq") != self.seq:
            self.kill()
            return Outcome("broken", detail="the worker's reply was out of step (something wrote to its pipe)")
        if isinstance(reply.get("error"), dict):
            return Outcome("error", error={str(k): str(v) for k, v in reply["error"].items()})
        return Outcome("value", value=reply.get("value"))

    def import_module(self, module):
        """Import one student module in the current worker; failures stick for the run."""
        key = (module, self.policy)
        if key in self.imports:
            return self.imports[key]
        if self.pid is not None and module in self.imported:
            return None
        outcome = self._request({"op": "import", "module": module}, self.timeout)
        if outcome.kind == "value":
            self.imported.add(module)
            return None
        self.imports[key] = outcome
        return outcome

    def run(self, modules, driver, forbid=(), **kwargs):
        """Run one driver (kit/drivers.py) in a worker guarded for `forbid`; return its Outcome."""
        if frozenset(forbid) != self.policy:
            self.kill()
            self.policy = frozenset(forbid)
        for module in modules:
            failed = self.import_module(module)
            if failed is not None:
                return Outcome(failed.kind, error=failed.error, detail=failed.detail,
                               events=failed.events, module=module)
        return self._request({"op": "run", "driver": driver, "kwargs": kwargs}, self.timeout)
