"""The grader's handle on the processes where student code runs (kit/worker/).

Everything student code can do to a process -- exit it, crash it, hang it, patch torch
inside it -- happens over there; here it shows up as an Outcome for one call, and the
worker is ended and replaced by a fresh fork. Every wait has a deadline: a zygote that
stops answering is itself replaced, and only the test that was running fails.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import manifest as manifest_mod
from . import messages as M
from .worker.contract import EXIT_FORBIDDEN
from .worker.jail import SCRATCH

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_DIR = os.path.join(HERE, "worker")
ZYGOTE = os.path.join(WORKER_DIR, "zygote.py")
SOLUTIONS = os.path.join(manifest_mod.ROOT, "solutions")
STARTUP_TIMEOUT = 180.0
ZYGOTE_TIMEOUT = 10.0  # the zygote only forks and reaps: it answers in milliseconds
MAX_SOURCE_BYTES = 1 << 20  # a student module larger than this is not sent to the worker
MEMORY_BYTES = 4 << 30  # what a worker may allocate beyond what it starts with
MAX_CALLBACKS = 10000  # call backs one request may make (a training loop makes six per batch)
# The environment of the worker: nothing of the grader's (tokens, paths) comes along.
WORKER_ENV = {"PATH": "/usr/bin:/bin", "HOME": SCRATCH, "TMPDIR": SCRATCH, "LANG": "C.UTF-8",
              "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
              "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": ""}


class SandboxUnavailable(RuntimeError):
    """Grading that must be sandboxed was asked for where the system offers no sandbox."""


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
    seconds: float = 0.0  # how long the request took


def _describe_status(status):
    if status is None:
        return M.WORKER_ENDED
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = {signal.SIGSEGV: "a segmentation fault", signal.SIGABRT: "an abort",
                signal.SIGKILL: "being killed (out of memory?)", signal.SIGBUS: "a bus error",
                signal.SIGFPE: "a floating-point exception",
                signal.SIGXCPU: "its CPU-time limit",
                signal.SIGTRAP: M.SEALED_TRAP}.get(sig, signal.Signals(sig).name)
        return M.WORKER_CRASHED.format(name=name)
    return M.WORKER_EXITED.format(code=os.WEXITSTATUS(status))


class ZygoteLost(Exception):
    """The zygote did not answer in time; it has been replaced."""


class Zygote:
    """The process that imports torch once and forks workers; one can serve many Sandboxes.

    hidden: folders the workers must not see besides the kit itself (private tests, ...).
    allow_unsandboxed: where the system offers no sandbox, run in practice mode instead of
    raising SandboxUnavailable.
    """

    def __init__(self, hidden=(), allow_unsandboxed=True, cpu_seconds=600, python_guards=True, probe=False,
                 answer_timeout=ZYGOTE_TIMEOUT, launcher=()):
        self.hidden = [manifest_mod.ROOT, SOLUTIONS, *map(os.path.abspath, hidden)]
        self.python_guards = python_guards  # False only to test the operating system's walls alone
        self.probe = probe  # only learn whether there is a sandbox; import nothing, serve nothing
        self.answer_timeout = answer_timeout
        self.launcher = list(launcher)  # a command that execs the rest: the kit's tests start it as nobody
        self.allow_unsandboxed, self.cpu_seconds = allow_unsandboxed, cpu_seconds
        # why this system gave no sandbox, once known; GRADER_SANDBOX=off asks for practice mode
        self.practice_reason = M.SANDBOX_SWITCHED_OFF if os.environ.get("GRADER_SANDBOX") == "off" else ""
        self.view_note = ""  # what the sandbox's view lacks, if anything (no /proc, say)
        self.process = None
        self._start()

    @property
    def sandbox_note(self) -> str:
        """"" when workers are sandboxed; otherwise what every report must say."""
        self._wait_status()
        return M.PRACTICE_MODE.format(reason=self.practice_reason) if self.practice_reason else ""

    def _start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.root = tempfile.mkdtemp(prefix="grader-view-")  # empty: the workers' root is mounted on it
        os.chmod(self.root, 0o755)  # a zygote started as another user (launcher) must reach it
        config = {"root": self.root, "hidden": self.hidden, "memory_bytes": MEMORY_BYTES,
                  "cpu_seconds": self.cpu_seconds, "solutions": SOLUTIONS, "practice": bool(self.practice_reason),
                  "python_guards": self.python_guards, "probe": self.probe}
        self.log = tempfile.TemporaryFile()  # the zygote's own output, shown if it fails to start
        self.process = subprocess.Popen(
            [*self.launcher, sys.executable, "-B", ZYGOTE, str(theirs.fileno()), json.dumps(config)],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True,
            env=WORKER_ENV, cwd="/")
        theirs.close()
        self.sock, self.ready, self.status = ours, False, None

    def _wait_status(self):
        """The zygote's first word: sandboxed or not (milliseconds, before torch is imported)."""
        if self.status is not None:
            return
        if self.practice_reason and not self.allow_unsandboxed:
            raise SandboxUnavailable(M.SANDBOX_REQUIRED.format(reason=self.practice_reason))
        msg = self._recv_startup()
        if msg.startswith(b"unavailable "):
            reason = msg[len(b"unavailable "):].decode(errors="replace")
            self._stop()
            if not self.allow_unsandboxed:
                raise SandboxUnavailable(M.SANDBOX_REQUIRED.format(reason=reason))
            self.practice_reason = reason
            self._start()
            return self._wait_status()
        if not msg.startswith(b"status "):
            self._fail_to_start()
        self.status = json.loads(msg[len(b"status "):])
        if self.status.get("note"):
            self.view_note = self.status["note"]

    def wait_ready(self):
        self._wait_ready()

    def starting(self):
        """True while the zygote is still importing torch. A look that never waits and changes
        nothing a request would see: False once it is ready, and False where it failed or has no
        sandbox to offer (the first request, or check(), says so as always)."""
        if self.ready or (self.practice_reason and not self.allow_unsandboxed):
            return False
        try:
            if not select.select([self.sock], [], [], 0)[0]:
                return True  # not even the status yet
            if self.status is None:
                if not self.sock.recv(16, socket.MSG_PEEK).startswith(b"status "):  # readable: no wait
                    return False
                self._wait_status()  # takes the status; "ready" may be next
            return not select.select([self.sock], [], [], 0)[0]
        except (OSError, ValueError):  # closed
            return False

    def _wait_ready(self):
        self._wait_status()
        if not self.ready:
            if self._recv_startup() != b"ready":
                self._fail_to_start()
            self.ready = True

    def _recv_startup(self):
        self.sock.settimeout(STARTUP_TIMEOUT)
        try:
            return self.sock.recv(8192)
        except OSError:
            return b""

    def _fail_to_start(self):
        self.log.seek(0)
        tail = self.log.read()[-2000:].decode(errors="replace")
        self._stop()
        raise RuntimeError(f"the grading worker did not start:\n{tail}")

    def check(self):
        """Raise SandboxUnavailable now (not at the first test) if a required sandbox is missing."""
        self._wait_status()

    def _ask(self, message, fds=()):
        """Send one message, wait (with a deadline) for the one-line answer."""
        self._wait_ready()
        try:
            self.sock.settimeout(self.answer_timeout)
            socket.send_fds(self.sock, [message.encode()], list(fds))
            reply = self.sock.recv(64)
            if not reply:
                raise OSError("the zygote ended")
            return reply
        except OSError:  # timeouts included: replace it, and let the caller fail one test
            self.restart()
            raise ZygoteLost() from None

    def spawn(self, output, forbid):
        """A fresh worker guarded for `forbid`: (its pid in the zygote's namespace, requests
        connection, read end of its events pipe). Its output goes to the descriptor `output`."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        events_r, events_w = os.pipe()
        try:
            reply = self._ask(f"spawn {','.join(sorted(forbid)) or '-'}", [theirs.fileno(), output, events_w])
        except ZygoteLost:
            ours.close()
            os.close(events_r)
            raise
        finally:
            theirs.close()
            os.close(events_w)
        os.set_blocking(events_r, False)
        return int(reply), ours, events_r

    def end(self, pid):
        """End a worker; its exit status (None if unknown)."""
        try:
            reply = self._ask(f"kill {pid}")
        except ZygoteLost:
            return None
        return int(reply) if reply.isdigit() else None

    def restart(self):
        self._stop()
        self._start()

    def _stop(self):
        self.sock.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def close(self):
        self._stop()


def read_sources(target, modules):
    """The submission's modules as text: regular files only, each at most MAX_SOURCE_BYTES.

    The worker never sees the folder itself; it gets exactly these, and nothing else from
    it (no native extensions, no .pth files, no data).
    """
    files = {}
    for module in modules:
        path = os.path.join(target, f"{module}.py")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            continue
        except OSError as e:
            files[module] = f"raise ImportError({M.SOURCE_UNREADABLE.format(module=module, reason=e.strerror)!r})"
            continue
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not (info.st_mode & 0o170000 == 0o100000):
                files[module] = f"raise ImportError({M.SOURCE_UNREADABLE.format(module=module, reason='not a regular file')!r})"
            elif info.st_size > MAX_SOURCE_BYTES:
                files[module] = f"raise ImportError({M.SOURCE_TOO_LARGE.format(module=module, limit=MAX_SOURCE_BYTES)!r})"
            else:
                files[module] = f.read(MAX_SOURCE_BYTES).decode("utf-8", "surrogateescape")
    return files


class Sandbox:
    """One submission's connection to the workers, one exercise (policy) at a time."""

    def __init__(self, target, timeout, zygote=None, modules=None, **zygote_options):
        """zygote: a shared one (else this Sandbox starts and owns one, with zygote_options)."""
        self.target, self.timeout = os.path.realpath(target), timeout
        self.modules = modules or sorted({m for e in manifest_mod.load().exercises for m in e.modules})
        self.output = None  # what the current worker prints (a fresh file per worker: _spawn)
        self.zygote, self.owns_zygote = zygote or Zygote(**zygote_options), zygote is None
        self.pid = self.conn = self.events = None
        self.policy = frozenset()  # what the current worker is guarded against
        self.seq = 0
        self.imports = {}  # (module, policy) -> Outcome of a failed import (kept for the whole run)
        self.imported = set()  # modules the current worker has imported

    @property
    def sandbox_note(self):
        return self.zygote.sandbox_note

    def _spawn(self):
        # A fresh output file per worker, which the worker may only append to: one worker can
        # neither read what another printed nor leave it anything (a channel past the rules).
        if self.output is not None:
            self.output.close()
        fd, path = tempfile.mkstemp(prefix="grader-output-")
        writer = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.unlink(path)
        self.output = os.fdopen(fd, "r+b")
        try:
            self.pid, self.conn, self.events = self.zygote.spawn(writer, self.policy)
        finally:
            os.close(writer)
        self.imported = set()
        failed = self._exchange({"op": "load", "files": read_sources(self.target, self.modules)}, self.timeout)
        if failed is not None and failed.kind in ("crash", "broken"):  # no student code had run yet
            self.output.seek(0)
            tail = self.output.read()[-1500:].decode(errors="replace").strip()
            self.output.seek(0, os.SEEK_END)
            return Outcome("broken", detail=M.WORKER_DID_NOT_START.format(tail=tail or failed.detail))
        return failed

    def kill(self):
        """End the current worker. Returns (exit status, forbidden events it reported before ending)."""
        if self.pid is None:
            return None, []
        self.conn.close()
        status = self.zygote.end(self.pid)
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
        if self.output is not None:
            self.output.close()

    # -- requests -----------------------------------------------------------------
    def _request(self, message, timeout, fds=(), callbacks=None):
        if self.pid is None:
            try:
                self.zygote.wait_ready()  # torch's import in the zygote is not the student's time
            except ZygoteLost:
                return Outcome("broken", detail=M.ZYGOTE_LOST)
        start = time.monotonic()
        if self.pid is None:
            try:
                failed = self._spawn()
            except ZygoteLost:
                self.pid = None
                return Outcome("broken", detail=M.ZYGOTE_LOST, seconds=time.monotonic() - start)
            if failed is not None:
                failed.seconds = time.monotonic() - start
                return failed
        # the worker's start counts against the deadline; the message names the limit as set
        outcome = self._exchange(message, max(0.0, timeout - (time.monotonic() - start)), fds, callbacks,
                                 shown=timeout)
        outcome = outcome or Outcome("value")
        outcome.seconds = time.monotonic() - start
        return outcome

    def _exchange(self, message, timeout, fds=(), callbacks=None, shown=None):
        """One request and its reply; None for a bare acknowledgement, else an Outcome.

        Before its reply, the worker may call back (the grader's stand-ins for other
        exercises): {"callback": name, "args": {...}} frames, each answered with
        callbacks(name, args) -> {"result": value} or {"error": text}. The deadline covers all.
        """
        from .worker import wire  # imports torch: kept out of start-up so the zygote starts first
        self.seq += 1
        message["seq"] = self.seq
        try:
            deadline = time.monotonic() + timeout
            data = wire.dumps(message)
            self.conn.settimeout(max(timeout, 0.001))  # a worker that stops reading cannot block us either
            wire.send(self.conn, data, fds)
            # a reply is a few times the size of what it answers, never more
            limit = 16 * len(data) + (4 << 20)
            for _ in range(MAX_CALLBACKS + 1):
                reply = wire.loads(wire.recv(self.conn, deadline=deadline, limit=limit))
                if not (isinstance(reply, dict) and "callback" in reply and reply.get("seq") == self.seq):
                    break
                if callbacks is None:
                    raise wire.WireError("a call back where none was expected")
                answer = callbacks(str(reply["callback"]), reply.get("args") or {})
                self.conn.settimeout(max(deadline - time.monotonic(), 0.001))
                wire.send(self.conn, wire.dumps({"seq": self.seq, **answer}))
            else:
                raise wire.WireError("too many call backs")
        except TimeoutError:
            self.kill()
            return Outcome("timeout", detail=M.TOOK_TOO_LONG.format(seconds=shown or timeout))
        except (EOFError, OSError):
            status, events = self.kill()
            if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_FORBIDDEN:
                return Outcome("forbidden", events=events or ["unknown"])
            return Outcome("crash", detail=_describe_status(status))
        except wire.ReplyTooLarge as e:
            self.kill()
            return Outcome("broken", detail=M.REPLY_TOO_LARGE.format(size=e.size, limit=limit))
        except wire.WireError as e:
            self.kill()
            return Outcome("broken", detail=M.MALFORMED_REPLY.format(error=e))
        except BaseException:  # interrupted (Ctrl-C, pytest-timeout): the worker is out of step
            self.kill()
            raise
        if not isinstance(reply, dict) or reply.get("seq") != self.seq:
            self.kill()
            return Outcome("broken", detail="the worker's reply was out of step (something wrote to its pipe)")
        if isinstance(reply.get("error"), dict):
            return Outcome("error", error={str(k): str(v) for k, v in reply["error"].items()})
        if "value" in reply:
            return Outcome("value", value=reply.get("value"))
        return None

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

    def run(self, modules, driver, forbid=(), timeout=None, lend=None, callbacks=None, **kwargs):
        """Run one driver (kit/worker/drivers.py) in a worker guarded for `forbid`; return its Outcome.

        lend: a kit.worker.shared.Region whose tensors (passed in kwargs as region[k]) the
        worker uses in place; callbacks: answers the worker's call backs (see _exchange).
        """
        if frozenset(forbid) != self.policy:
            self.kill()
            self.policy = frozenset(forbid)
        for module in modules:
            failed = self.import_module(module)
            if failed is not None:
                return Outcome(failed.kind, error=failed.error, detail=failed.detail,
                               events=failed.events, module=module, seconds=failed.seconds)
        fds = [lend.fd] if lend is not None else []
        return self._request({"op": "run", "driver": driver, "kwargs": kwargs}, timeout or self.timeout,
                             fds, callbacks)
