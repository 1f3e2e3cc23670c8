"""Grade every submission folder in a directory: a CSV gradebook and one JSON report each.

Submissions are graded in parallel, one lane per core. Each lane is a process of the
grader (trusted code: it imports torch and pytest once, then grades submission after
submission), with its own zygote; student code runs only in that zygote's workers, as in
a single grading run.

A submission costs only itself:

- A lane grades one submission at a time, so when a lane dies (SIGKILL, os._exit, a crash
  of the grader itself) the submission it held is known, and no other submission is lost:
  the others go on in their own lanes. The one it held is graded again, alone in a fresh
  lane; if it ends that lane too, it gets a zero and the reason (M.BATCH_LANE_DIED).
- Grading that raises gives that submission a zero and the reason, and a fresh lane takes
  the next submission (the old one's state may be broken).
- Each submission is graded with its own seed, submission_seed(run seed, folder name), written
  in its JSON report: students do not share cases, and `--seed` that number reruns one.
- Each submission has a wall-clock deadline, deadline_for(): STARTUP_ALLOWANCE seconds for
  a lane's zygote to import torch, plus TIMEOUTS_PER_TEST x settings.timeout for each
  grading test. A case that times out skips the rest of its test, so a test costs about
  one timeout at worst: the deadline is a generous multiple of what grading can take.
  Past it the lane is killed (its zygote exits when the lane's end of the socket closes),
  the submission gets a zero and the reason (M.BATCH_DEADLINE), and a fresh lane goes on.
"""
import collections
import csv
import dataclasses
import io
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import wait

from . import messages as M
from . import writers
from . import results

STARTUP_ALLOWANCE = 300.0  # s: a lane's first submission also waits for its zygote to start
TIMEOUTS_PER_TEST = 3  # how many per-call timeouts each grading test may take, in all

_zygote = None  # one per lane process
ALLOW_UNSANDBOXED = False  # set by main() before the lanes fork: --allow-unsandboxed


def submissions(root):
    return [(name, os.path.join(root, name)) for name in sorted(os.listdir(root))
            if not name.startswith((".", "_")) and os.path.isdir(os.path.join(root, name))]


def deadline_for(settings, manifest, names) -> float:
    """Seconds one submission may take in all (see the module docstring)."""
    tests = sum(len(manifest.get(n).tests) for n in names)
    return STARTUP_ALLOWANCE + TIMEOUTS_PER_TEST * settings.timeout * max(tests, 1)


def submission_seed(seed: int, name: str) -> int:
    """Each submission's own cases, from the run's seed and its folder's name (in its JSON)."""
    import hashlib
    return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:8], "big") % 10**15


def _grade_one(target, names, settings, tests_dir, manifest):
    global _zygote
    from .runner import GradingRun, grade
    from .sandbox import Zygote
    if _zygote is None:  # the workers see neither the private tests nor the other submissions
        _zygote = Zygote(hidden=[tests_dir, os.path.dirname(os.path.abspath(target))],
                         allow_unsandboxed=ALLOW_UNSANDBOXED)
    # students do not share cases: answers passed around would not fit another's
    settings = dataclasses.replace(settings, seed=submission_seed(settings.seed, os.path.basename(target)))
    run = GradingRun(target, names, settings, manifest, tests_dir)
    with run.open_sandbox(zygote=_zygote):
        return grade(run).to_dict()


def _lane(conn, others, grade_one, names, settings, tests_dir, manifest):
    """A lane process: grade each path it is sent, reply ("report", dict) or ("error", text)."""
    for other in others:  # the grader's ends of the other lanes' pipes: theirs to hold, not ours
        other.close()
    try:
        while (target := conn.recv()) is not None:
            try:
                reply = ("report", grade_one(target, names, settings, tests_dir, manifest))
            except Exception as e:
                reply = ("error", repr(e))
            conn.send(reply)
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the grader went away or stopped us
    finally:
        if _zygote is not None:
            _zygote.close()


class _Lane:
    def __init__(self, context, args, others=()):
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_lane, args=(theirs, [o.conn for o in others], *args),
                                       name="grading lane")
        self.process.start()
        theirs.close()
        self.job = None  # (name, path) being graded
        self.started = 0.0

    def give(self, job):
        self.job, self.started = job, time.monotonic()
        try:
            self.conn.send(job[1])
        except OSError:
            pass  # the lane is gone: its sentinel says so, and the job is graded again

    def reply(self):
        """The lane's reply, or None if it died without one."""
        try:
            if self.conn.poll():
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        return None

    def kill(self) -> str:
        """End the lane now; how it ended, for a message."""
        self.process.kill()  # a no-op if it is already dead: its own exit status is kept
        self.process.join()
        self.conn.close()
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self):
        try:
            self.conn.send(None)
            self.process.join(timeout=30)
        except OSError:
            pass
        self.kill()


def grade_all(found, count, args, deadline, done):
    """Grade each (name, path) of found in up to `count` lanes; done(name, path, report, reason)
    is called once per submission, with report a dict, or None and the reason it has none."""
    context = multiprocessing.get_context("fork")  # this process has not imported torch yet
    pending = collections.deque(found)
    deaths = collections.Counter()
    lanes = []
    try:
        while pending or lanes:
            for lane in lanes:
                if lane.job is None and pending:
                    lane.give(pending.popleft())
            while pending and len(lanes) < count:
                lanes.append(_Lane(context, args, lanes))
                lanes[-1].give(pending.popleft())
            busy = [lane for lane in lanes if lane.job is not None]
            if not busy:
                break
            first_due = min(lane.started for lane in busy) + deadline
            ready = set(wait([lane.conn for lane in busy] + [lane.process.sentinel for lane in busy],
                             timeout=max(0.0, first_due - time.monotonic())))
            now = time.monotonic()
            for lane in busy:
                (name, path), reason = lane.job, None
                if lane.conn in ready or lane.process.sentinel in ready:
                    reply = lane.reply()
                    if reply is not None and reply[0] == "report":
                        lane.job = None
                        done(name, path, reply[1], "")
                        continue
                    lanes.remove(lane)
                    how = lane.kill()
                    if reply is not None:
                        reason = M.BATCH_FAILED.format(error=reply[1])
                    else:
                        deaths[name] += 1
                        if deaths[name] < 2:  # maybe not its fault (out of memory?): again, alone
                            pending.appendleft((name, path))
                            continue
                        reason = M.BATCH_LANE_DIED.format(how=how)
                elif now >= lane.started + deadline:
                    lanes.remove(lane)
                    lane.kill()
                    reason = M.BATCH_DEADLINE.format(limit=deadline)
                if reason:
                    done(name, path, None, reason)
        for lane in lanes:
            lane.stop()
        lanes = []
    finally:
        for lane in lanes:  # interrupted: leave nothing running
            lane.kill()


def _sandboxed(report):
    return "yes" if report.get("sandboxed", True) else f"no: {report.get('sandbox_note', '')}"


def main(root, out, names, settings, tests_dir, manifest, *, grade_one=None, deadline=None):
    """grade_one(target, names, settings, tests_dir, manifest) -> report dict (default _grade_one);
    deadline: seconds per submission (default deadline_for(...))."""
    found = submissions(root)
    if not found:
        print(f"grader.py: error: no submission folders in {root} (one folder per student)")
        return 2
    os.makedirs(out, exist_ok=True)
    lanes = min(os.cpu_count() or 1, len(found))
    deadline = deadline or deadline_for(settings, manifest, names)
    print(f"Grading {len(found)} submissions in {root} ({lanes} at a time)   seed {settings.seed}")
    reports = {}

    def done(name, path, report, reason):
        if report is None:  # the lane broke, or the deadline passed: record it, keep going
            report = results.build(manifest, names, {}, settings.seed, settings.timeout, path,
                                   crash=reason).to_dict()
        reports[name] = report
        try:
            writers.dump_json(report, os.path.join(out, f"{name}.json"))
        except OSError as e:  # this submission's file could not be written: the gradebook still is
            reason = f"{reason}; its JSON report could not be written: {e.strerror}".lstrip("; ")
        print(f"  {writers.plain_text(name)}: {report['score']:g}/{report['max_score']:g}"
              + (f"   ({writers.plain_text(reason)})" if reason else ""))

    grade_all(found, lanes, (grade_one or _grade_one, names, settings, tests_dir, manifest), deadline, done)
    gradebook = os.path.join(out, "gradebook.csv")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["submission", *names, "total", "max_score", "sandboxed"])
    for name, _ in found:
        r = reports[name]
        by_name = {e["name"]: e["score"] for e in r["exercises"]}
        writer.writerow([writers.csv_cell(name), *(f"{by_name[n]:g}" for n in names), f"{r['score']:g}",
                         f"{r['max_score']:g}", writers.csv_cell(_sandboxed(r))])
    writers.write_atomic(gradebook, text.getvalue())
    print(f"Wrote {gradebook} and one JSON report per submission in {out}")
    return 0
