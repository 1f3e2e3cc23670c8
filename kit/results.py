"""Results as small dataclasses; the report writers and CI outputs read only these.

A failing case is a Failure (why, as a reason kind; what, as one sentence; on which case);
the writers format text from the fields, and nothing reads a message back to decide anything.
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

from . import messages as M
from .manifest import ROOT, Manifest


class Reason:
    """Why a test failed: the kind a writer, a CI tool or an instructor's script can sort on."""
    NOT_IMPLEMENTED = "not implemented"  # a stub still raises NotImplementedError
    RAISED = "raised"  # student code raised another exception (or a module/name is missing)
    WRONG_TYPE = "wrong type"  # not a tensor, or the wrong dtype
    WRONG_SHAPE = "wrong shape"
    WRONG_VALUES = "wrong values"  # beyond the dtype's tolerance, or a behaviour torch does not have
    CHANGED_INPUT = "changed input"  # an input the spec says is left unchanged was changed in place
    TIMEOUT = "timeout"  # the per-call timeout or a time budget
    CRASH = "crash"  # the worker died or exited
    FORBIDDEN = "forbidden"  # a call the exercise's rules forbid
    TAMPERED = "tampered"  # the worker's reply is not what the scenario returns
    NOT_RUN = "not run"
    KIT_ERROR = "kit error"  # the grading test itself broke: a bug in the kit

    ALL = (NOT_IMPLEMENTED, RAISED, WRONG_TYPE, WRONG_SHAPE, WRONG_VALUES, CHANGED_INPUT, TIMEOUT, CRASH,
           FORBIDDEN, TAMPERED, NOT_RUN, KIT_ERROR)


@dataclass(frozen=True)
class Failure:
    """What one failing case said."""
    reason: str  # a Reason
    text: str  # what is wrong, one sentence (student text in it is escaped by the writers)
    case: str = ""  # the case described ("SGD(lr=0.1) on params p0 2x2 float32, ...")
    node: str = ""  # the pytest case, for --case: "test_basic[2]"
    mistake: str = ""  # the kit/misconceptions.py key, when the answer is that known mistake's

    @property
    def sentence(self) -> str:
        return f"{self.text} -- {M.ON_CASE.format(case=self.case)}" if self.case else self.text


def target_flag(target: str, root: str = ROOT) -> str:
    """The --solutions / --submission words that select `target` again."""
    target = os.path.realpath(target)
    if target == os.path.realpath(os.path.join(root, "exercises")):
        return ""
    if target == os.path.realpath(os.path.join(root, "solutions")):
        return "--solutions"
    return f"--submission {shlex.quote(os.path.relpath(target))}"


def rerun_command(seed: int, target: str, exercise: str | None = None, case: str | None = None) -> str:
    """The one rerun command: the whole run, one exercise, or one case of it."""
    parts = ["python grader.py", exercise or "", f"--case '{case}'" if case else "", f"--seed {seed}",
             target_flag(target)]
    return " ".join(p for p in parts if p)


@dataclass
class TestResult:
    name: str
    status: str  # "passed" or "failed"
    score: float
    max_score: float
    failure: Failure | None = None  # the most telling failing case: a named mistake, else the first
    cases_failed: int = 0
    cases_total: int = 0
    rerun: str = ""  # the command that runs the failure's case again

    @property
    def reason(self) -> str:
        return self.failure.reason if self.failure else ""

    @property
    def summary(self) -> str:
        """What is wrong, without the case: the one-line form."""
        return self.failure.text if self.failure else ""

    @property
    def message(self) -> str:
        """The full sentence: what, on which case, how many cases, how to rerun it."""
        if self.failure is None:
            return ""
        text = self.failure.sentence
        if self.cases_total > 1:
            text += f" [{self.cases_failed} of {self.cases_total} cases failed]"
        return f"{text} -- rerun: {self.rerun}" if self.rerun else text

    def to_dict(self) -> dict:
        d = {"name": self.name, "status": self.status, "score": self.score,
             "max_score": self.max_score, "message": self.message}
        if self.failure:
            d.update(reason=self.failure.reason, case=self.failure.node, mistake=self.failure.mistake,
                     cases_failed=self.cases_failed, cases_total=self.cases_total, rerun=self.rerun)
        return d


@dataclass
class ExerciseResult:
    name: str
    title: str
    tests: list[TestResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    @property
    def status(self) -> str:
        failed = [t for t in self.tests if t.status != "passed"]
        if not failed:
            return "passed"
        if len(failed) == len(self.tests) and failed[0].reason == Reason.NOT_IMPLEMENTED:
            return "not implemented"  # nothing passes yet, and the first thing to do is a stub
        return "failed"

    @property
    def first_failure(self) -> TestResult | None:
        return next((t for t in self.tests if t.status != "passed"), None)

    def to_dict(self) -> dict:
        return {"name": self.name, "score": self.score, "max_score": self.max_score,
                "status": self.status, "tests": [t.to_dict() for t in self.tests]}


@dataclass
class Report:
    seed: int
    timeout: float
    target: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    crash: str = ""  # set when the grading run itself broke; every unrun test then failed
    # "" when student code ran inside the OS sandbox; otherwise why not (practice mode), e.g.
    # "practice mode: not sandboxed (user namespaces are not available)". Every writer shows it.
    sandbox_note: str = ""
    case: str = ""  # set when only this test or case ran (--case): not a grade of the exercise

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def rerun(self, exercise: str | None = None, case: str | None = None) -> str:
        return rerun_command(self.seed, self.target, exercise, case)

    def to_dict(self) -> dict:
        d = {"score": self.score, "max_score": self.max_score, "seed": self.seed,
             "exercises": [e.to_dict() for e in self.exercises]}
        if self.crash:
            d["error"] = self.crash
        d["sandboxed"] = not self.sandbox_note
        if self.sandbox_note:
            d["sandbox_note"] = self.sandbox_note
        if self.case:
            d["case"] = self.case
        return d


def build(manifest: Manifest, names: list[str], outcomes: dict, seed: int, timeout: float, target: str,
          crash: str = "", only: str = "", sandbox_note: str = "", case: str = "") -> Report:
    """outcomes: {(exercise, test): [Failure, or None for a case that passed, ...]}, one per case run.

    The tests come from the manifest, never from what ran: a test with no outcome failed.
    only: a rerun of one test -- the report then holds just that test.
    sandbox_note: "" if student code ran in the OS sandbox, else why not (see Report).
    """
    report = Report(seed=seed, timeout=timeout, target=target, crash=crash, sandbox_note=sandbox_note, case=case)
    for name in names:
        ex = manifest.get(name)
        result = ExerciseResult(name=name, title=ex.title)
        for test, points in ex.tests.items():
            if only and test != only:
                continue
            cases = outcomes.get((name, test), [])
            failed = [f for f in cases if f is not None]
            if not cases:
                reason = crash or "no grading test with this name was collected"
                result.tests.append(TestResult(test, "failed", 0, points, Failure(Reason.NOT_RUN, M.NOT_RUN.format(
                    reason=reason))))
            elif failed:
                # the case whose answer names a known mistake teaches most; else the first
                first = next((f for f in failed if f.mistake), failed[0])
                rerun = report.rerun(name, first.node) if first.node else ""
                result.tests.append(TestResult(test, "failed", 0, points, first, len(failed), len(cases), rerun))
            else:
                result.tests.append(TestResult(test, "passed", points, points, None, 0, len(cases)))
        report.exercises.append(result)
    return report
