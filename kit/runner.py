"""Runs the grading tests (pytest, in this process) against one target and builds a Report.

Student code never runs here: the tests reach it only through the worker. If pytest
itself breaks, the report is still built, with every test that did not run failed.
"""
from __future__ import annotations

import gc
import importlib
import os
import warnings

import pytest
import torch

from . import results
from .grading_run import TESTS, GradingRun
from .messages import KIT_ERROR
from .plugin import RUN, exercise_of
from .results import Failure, Reason

INI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grading.ini")
__all__ = ["GradingRun", "TESTS", "grade"]


class Collector:
    """Records each case's outcome; registered as a plugin for one grading run."""

    def __init__(self, run: GradingRun):
        self.run = run
        self.items: dict[str, tuple] = {}  # nodeid -> (exercise, test function name)
        self.failures: dict[str, Failure] = {}  # nodeid -> its first failure
        self.outcomes: dict[tuple, list] = {}  # (exercise, test) -> [Failure or None, ...]
        self.deselected: list[tuple] = []  # cases --case left out (to list them if it matched none)

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        config.stash[RUN] = self.run  # before the plugin reads it

    def pytest_deselected(self, items):
        self.deselected += [(exercise_of(item), item.name) for item in items]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        for item in items:
            self.items[item.nodeid] = (exercise_of(item), item.originalname)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        yield
        key = self.items.get(item.nodeid)
        if key is None:
            return
        if call.excinfo is not None and item.nodeid not in self.failures:
            self.failures[item.nodeid] = _verdict(call, item.name)
        if call.when == "teardown":
            self.outcomes.setdefault(key, []).append(self.failures.get(item.nodeid))


def _verdict(call, node: str) -> Failure:
    """A case's Failure: the verdict from compare.fail, or, for any other exception, a note
    that the grading test itself broke (a bug in the kit)."""
    error = call.excinfo.value
    f = getattr(error, "failure", None) if call.when == "call" else None
    if isinstance(error, pytest.fail.Exception) and isinstance(f, Failure):
        return Failure(f.reason, f.text, f.case, node, f.mistake)
    return Failure(Reason.KIT_ERROR, KIT_ERROR.format(error=f"{type(error).__name__}: {error}".strip()), node=node)


def grade(run: GradingRun) -> results.Report:
    """Grade run.exercises of run.target, in run.sandbox (opened here, and closed, if the run has none)."""
    if run.sandbox is None:
        with run.open_sandbox():
            return grade(run)
    collector = Collector(run)
    args = [run.tests_dir, "-c", INI, "--rootdir", run.tests_dir, "-p", "kit.plugin", "-p", "no:cacheprovider",
            "-p", "no:terminal", "-p", "no:logging", "-p", "no:warnings", "-p", "no:unraisableexception",
            "-p", "no:threadexception", "--capture=no", "--import-mode=importlib",
            "-o", f"timeout={run.settings.timeout * 3 + 30:g}"]
    crash, note = "", ""
    if run.sandbox.zygote.starting():
        # What the references' first backward(grad) imports (sympy: a quarter of a second), while
        # the zygote still imports torch and the tests would wait for it anyway.
        importlib.import_module("torch.fx.experimental.symbolic_shapes")
    gc.freeze()  # torch's millions of objects never become garbage: keep collections off them
    # The references are small tensors: torch's extra threads only cost time, spinning against the
    # worker for the same cores (a 1 ms convolution took 10 on two cores).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's advice about its own speed is noise here
            code = pytest.main(args, plugins=[collector])
        if code == pytest.ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        if code == pytest.ExitCode.NO_TESTS_COLLECTED and run.case:
            test = run.case.split("[")[0]
            same = [n for ex, n in collector.deselected if ex == run.exercises[0] and n.split("[")[0] == test]
            crash = f"there is no case {run.case}: {test} has {', '.join(same) or 'no cases here'}"
        elif code not in (0, 1):
            crash = f"the grading tests could not run (pytest exit code {int(code)})"
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # never lose the report
        crash = f"grading stopped: {type(e).__name__}: {e}"
    finally:
        torch.set_num_threads(threads)
    try:
        note = run.sandbox.sandbox_note
    except Exception as e:  # the zygote never started: nothing ran, and the report says why
        crash = crash or f"grading stopped: {type(e).__name__}: {e}"
    return results.build(run.manifest, run.exercises, collector.outcomes, run.settings.seed, run.settings.timeout,
                         run.target, crash, only=run.case.split("[")[0], sandbox_note=note, case=run.case)
