"""Results as small dataclasses; the report writers and CI outputs read only these."""
from dataclasses import dataclass, field

from . import messages as M


@dataclass
class TestResult:
    name: str
    status: str  # "passed" or "failed"
    score: float
    max_score: float
    message: str = ""
    cases_failed: int = 0
    cases_total: int = 0

    def to_dict(self):
        return {"name": self.name, "status": self.status, "score": self.score,
                "max_score": self.max_score, "message": self.message}


@dataclass
class ExerciseResult:
    name: str
    title: str
    tests: list = field(default_factory=list)

    @property
    def score(self):
        return sum(t.score for t in self.tests)

    @property
    def max_score(self):
        return sum(t.max_score for t in self.tests)

    @property
    def status(self):
        failed = [t for t in self.tests if t.status != "passed"]
        if not failed:
            return "passed"
        if len(failed) == len(self.tests) and failed[0].message.startswith(M.NOT_IMPLEMENTED):
            return "not implemented"  # nothing passes yet, and the first thing to do is a stub
        return "failed"

    @property
    def first_failure(self):
        return next((t for t in self.tests if t.status != "passed"), None)

    def to_dict(self):
        return {"name": self.name, "score": self.score, "max_score": self.max_score,
                "status": self.status, "tests": [t.to_dict() for t in self.tests]}


@dataclass
class Report:
    seed: int
    timeout: float
    target: str
    exercises: list = field(default_factory=list)
    crash: str = ""  # set when the grading run itself broke; every unrun test then failed
    # "" when student code ran inside the OS sandbox; otherwise why not (practice mode), e.g.
    # "practice mode: not sandboxed (user namespaces are not available)". Every writer shows it.
    sandbox_note: str = ""
    case: str = ""  # set when only this test or case ran (--case): not a grade of the exercise

    @property
    def score(self):
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self):
        return sum(e.max_score for e in self.exercises)

    def to_dict(self):
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


def build(manifest, names, outcomes, seed, timeout, target, crash="", only="", sandbox_note="", case=""):
    """outcomes: {(exercise, test): [(passed, message, rerun command), ...]}, one per case that ran.

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
            failed = [(m, rerun) for ok, m, rerun in cases if not ok]
            if not cases:
                reason = crash or "no grading test with this name was collected"
                result.tests.append(TestResult(test, "failed", 0, points, M.NOT_RUN.format(reason=reason)))
            elif failed:
                # the case whose answer names a known mistake teaches most; else the first
                message, rerun = next((f for f in failed if f[0].startswith("looks like ")), failed[0])
                if len(cases) > 1:
                    message += f" [{len(failed)} of {len(cases)} cases failed]"
                if rerun:
                    message += f" -- rerun: {rerun}"
                result.tests.append(TestResult(test, "failed", 0, points, message, len(failed), len(cases)))
            else:
                result.tests.append(TestResult(test, "passed", points, points, "", 0, len(cases)))
        report.exercises.append(result)
    return report
