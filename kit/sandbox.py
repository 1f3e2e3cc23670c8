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
from multiprocessing.connection import Connection

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
STARTUP_TIMEOUT = 180.0


@dataclass
class Outcome:
    """What one request to the worker came to.

    kind: "value" (value holds the decoded result), "error" (student code raised;
    error holds type, message, where, line), "crash", "timeout" or "broken" (detail says).
    events: forbidden things the guards saw during the call.
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
    """The process that imports torch once and forks workers; one can serve many Sandboxes."""

    def __init__(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = tempfile.TemporaryFile()  # the zygote's own output, shown if it fails to start
        self.process = subprocess.Popen(
            [sys.executable, "-B", WORKER, str(theirs.fileno())], pass_fds=[theirs.fileno()],
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

    def spawn(self, target, output):
        """A fresh worker for the modules in target; its output goes to the file `output`."""
        self._wait_ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        socket.send_fds(self.sock, [f"spawn {target}".encode()], [theirs.fileno(), output.fileno()])
        theirs.close()
        return int(self.sock.recv(64)), Connection(ours.detach())

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
        self.pid = self.conn = None
        self.seq = 0
        self.imports = {}  # module -> Outcome of a failed import (kept for the whole run)
        self.imported = set()  # modules the current worker has imported

    def _spawn(self):
        self.pid, self.conn = self.zygote.spawn(self.target, self.output)
        self.imported = set()

    def kill(self):
        """Kill the current worker and everything it started; return its exit status."""
        if self.pid is None:
            return None
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.conn.close()
        status = self.zygote.wait(self.pid)
        self.pid = self.conn = None
        return status

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
        start = time.monotonic()
        try:
            self.conn.send_bytes(wire.dumps(message))
            if not self.conn.poll(timeout):
                self.kill()
                return Outcome("timeout", detail=f"took longer than {timeout:g} s (stopped)")
            reply = wire.loads(self.conn.recv_bytes(wire.MAX_MESSAGE_BYTES))
        except (EOFError, OSError):
            return Outcome("crash", detail=_describe_status(self.kill()))
        except wire.WireError as e:
            self.kill()
            return Outcome("broken", detail=f"the worker sent a malformed reply ({e})")
        except BaseException:  # interrupted (Ctrl-C, pytest-timeout): the worker is out of step
            self.kill()
            raise
        if not isinstance(reply, dict) or reply.get("seq") != self.seq:
            self.kill()
            return Outcome("broken", detail="the worker's reply was out of step (something wrote to its pipe)")
        events = [str(e) for e in reply.get("events", [])] if isinstance(reply.get("events"), list) else []
        self.last_seconds = time.monotonic() - start
        if isinstance(reply.get("error"), dict):
            return Outcome("error", error={k: str(v) for k, v in reply["error"].items()}, events=events)
        return Outcome("value", value=reply.get("value"), events=events)

    def import_module(self, module):
        """Import one student module in the current worker; failures stick for the run."""
        if module in self.imports:
            return self.imports[module]
        if self.pid is not None and module in self.imported:
            return None
        outcome = self._request({"op": "import", "module": module}, self.timeout)
        if outcome.kind == "value" and not outcome.events:
            self.imported.add(module)
            return None
        self.imports[module] = outcome
        return outcome

    def run(self, modules, driver, forbid=(), **kwargs):
        """Run one driver (kit/drivers.py) in the worker and return its Outcome."""
        for module in modules:
            failed = self.import_module(module)
            if failed is not None:
                return Outcome(failed.kind, error=failed.error, detail=failed.detail,
                               events=failed.events, module=module)
        return self._request({"op": "run", "driver": driver, "forbid": list(forbid),
                              "kwargs": kwargs}, self.timeout)
