"""Fixtures for the kit's own tests: grade a folder in-process with one shared zygote.

`grade(folder, ...)` runs exactly what grader.py runs (kit.runner.grade) and returns the
Report. `submission(...)` builds a folder: the reference solutions, with snippets of
source appended to chosen modules (a later definition replaces an earlier one).
"""
import pytest
from kit_support import MANIFEST, build_submission

from kit import runner
from kit.sandbox import Zygote
from kit.settings import resolve


@pytest.fixture(scope="session")
def zygote():
    z = Zygote()
    yield z
    z.close()


@pytest.fixture(scope="session")
def grade(zygote):
    def run(folder, exercises=None, seed=0, timeout=None):
        settings = resolve(MANIFEST.settings, seed, timeout, environ={})
        names = exercises or MANIFEST.names
        run = runner.GradingRun(folder, names, settings, MANIFEST)
        with run.open_sandbox(zygote=zygote):
            return runner.grade(run)
    return run


@pytest.fixture
def submission(tmp_path):
    def build(snippets=None):
        return build_submission(tmp_path / "submission", (snippets or {}).items())
    return build
