"""Runs the grading tests (pytest, in this process) against one target and builds a Report.

Student code never runs here: the tests reach it only through the worker. If pytest
itself breaks, the report is still built, with every test that did not run failed.
"""
import gc
import os
import warnings

import pytest

from . import manifest as manifest_mod
from . import report, results
from .messages import KIT_ERROR
from .plugin import SANDBOX, exercise_of

TESTS = os.path.join(manifest_mod.ROOT, "tests", "grading")
INI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grading.ini")


class Collector:
    """Records each case's outcome; registered as a plugin for one grading run."""

    def __init__(self, sandbox, rerun=None):
        self.sandbox, self.rerun = sandbox, rerun  # rerun(exercise, case name) -> a command
        self.items = {}  # nodeid -> (exercise, test function name)
        self.failures = {}  # nodeid -> first failure message
        self.outcomes = {}  # (exercise, test) -> [(passed, message)]
        self.deselected = []  # names of the cases --case left out (to list them if it matched none)

    def pytest_configure(self, config):
        if self.sandbox is not None:
            config.stash[SANDBOX] = self.sandbox

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
            self.failures[item.nodeid] = _verdict(call)
        if call.when == "teardown":
            message = self.failures.get(item.nodeid)
            rerun = self.rerun(key[0], item.name) if message and self.rerun else ""
            self.outcomes.setdefault(key, []).append((message is None, message or "", rerun))


def _verdict(call):
    """A test's failure message: the verdict from compare.fail, or, for any other
    exception, a note that the grading test itself broke (a bug in the kit)."""
    error = call.excinfo.value
    if call.when == "call" and isinstance(error, pytest.fail.Exception):
        return str(error.msg)
    return KIT_ERROR.format(error=f"{type(error).__name__}: {error}".strip())


def grade(target, names, settings, tests_dir=TESTS, sandbox=None, manifest=None, case=""):
    """Grade `names` (manifest exercise names) of the modules in `target`.

    case: only this test ("test_basic") or case ("test_basic[2]") of the one exercise named.
    """
    manifest = manifest or manifest_mod.load()
    flag = report.target_flag(target, manifest_mod.ROOT)

    def rerun(exercise, name):
        return " ".join(["python grader.py", exercise, f"--case '{name}'", f"--seed {settings.seed}", flag]).strip()
    collector = Collector(sandbox, rerun)
    args = [tests_dir, "-c", INI, "--rootdir", tests_dir, "-p", "kit.plugin", "-p", "no:cacheprovider",
            "-p", "no:terminal", "-p", "no:logging", "-p", "no:warnings", "-p", "no:unraisableexception",
            "-p", "no:threadexception", "--capture=no",
            "--import-mode=importlib",
            "--target", target, "--seed", str(settings.seed), "--call-timeout", str(settings.timeout),
            "--exercises", ",".join(names), "--manifest", manifest.path, "--case", case, "-o", f"timeout={settings.timeout * 3 + 30:g}"]
    if sandbox is None:
        from .sandbox import Sandbox
        sandbox = Sandbox(target, settings.timeout)
    crash, note = "", ""
    gc.freeze()  # torch's millions of objects never become garbage: keep collections off them
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's advice about its own speed is noise here
            code = pytest.main(args, plugins=[collector])
        if code == pytest.ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        if code == pytest.ExitCode.NO_TESTS_COLLECTED and case:
            same = [n for ex, n in collector.deselected if ex == names[0] and n.split("[")[0] == case.split("[")[0]]
            crash = f"there is no case {case}: {case.split('[')[0]} has {', '.join(same) or 'no cases here'}"
        elif code not in (0, 1):
            crash = f"the grading tests could not run (pytest exit code {int(code)})"
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # never lose the report
        crash = f"grading stopped: {type(e).__name__}: {e}"
    finally:
        try:
            note = sandbox.sandbox_note
        except Exception as e:  # the zygote never started: nothing ran, and the report says why
            crash = crash or f"grading stopped: {type(e).__name__}: {e}"
        sandbox.close()
    return results.build(manifest, names, collector.outcomes, settings.seed, settings.timeout,
                         target, crash, only=case.split("[")[0], sandbox_note=note, case=case)
