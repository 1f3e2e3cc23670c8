"""One grading run: what is graded, with which settings, and the sandbox it owns.

Made once -- by grader.py (kit.runner.grade runs it through pytest) or, under plain pytest, by
the plugin from its options -- and handed to the plugin whole: nothing is passed as
command-line text and parsed again. Whoever makes a run opens and closes its sandbox:
`with run.open_sandbox(): ...`.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from .manifest import ROOT, Manifest
from .settings import Settings

if TYPE_CHECKING:
    from .sandbox import Sandbox

TESTS = os.path.join(ROOT, "tests", "grading")


@dataclass
class GradingRun:
    target: str  # the folder with the student's modules
    exercises: list[str]  # manifest names to grade, in the manifest's order
    settings: Settings  # seed and per-call timeout, already resolved (kit/settings.py)
    manifest: Manifest
    tests_dir: str = TESTS  # the grading tests (a private copy with --tests)
    case: str = ""  # only this test ("test_basic") or case ("test_basic[2]") of the one exercise
    allow_unsandboxed: bool = True  # practice mode where the system has no sandbox (said in every report)
    sandbox: Sandbox | None = field(default=None, repr=False)

    @contextlib.contextmanager
    def open_sandbox(self, hidden: list[str] = (), zygote=None) -> Iterator[Sandbox]:
        """Start the zygote now (it imports torch while the grader starts), or use a running one
        (zygote: kit.sandbox.Zygote, shared by many runs); close the run's sandbox on leaving."""
        from .sandbox import Sandbox
        options = {"zygote": zygote} if zygote is not None else {
            "hidden": [self.tests_dir, *hidden], "allow_unsandboxed": self.allow_unsandboxed}
        self.sandbox = Sandbox(self.target, self.settings.timeout, **options)
        try:
            yield self.sandbox
        finally:
            self.sandbox.close()
            self.sandbox = None
