"""The pytest plugin behind the grading tests (tests/grading): options, fixtures, selection.

`student` is the only way a grading test reaches student code: it asks the worker
(kit/sandbox.py) and turns every way that can go wrong into one clear failure message.
By hand: pytest -p kit.plugin tests/grading --target solutions --seed 1
"""
import os

import pytest

from . import manifest as manifest_mod
from . import messages as M
from .cases import Rng, derive_seed
from .compare import fail
from .results import Reason
from .grading_run import GradingRun
from .settings import resolve

RUN = pytest.StashKey()  # the GradingRun: set by its owner (kit.runner), or made here from options
STATE = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("grading", "exercise grading (when grader.py runs the tests, its run is used)")
    group.addoption("--target", default=os.path.join(manifest_mod.ROOT, "exercises"),
                    help="folder with the student's modules (default: exercises/)")
    group.addoption("--seed", default=None, help="seed for the random cases")
    group.addoption("--call-timeout", default=None, help="seconds one call into student code may take")


class _State:
    """What one pytest session knows of its grading run, and what it has spent."""

    def __init__(self, run: GradingRun):
        self.run = run
        self.manifest, self.settings, self.target = run.manifest, run.settings, run.target
        self.timed_out = set()  # (exercise, test) that had a case time out
        self.current_exercise = None  # the exercise the current worker serves
        # Time budgets, as multiples of the per-call timeout (manifest.toml [settings]): code that
        # hangs, or sleeps just under the timeout in every call, cannot hold a grader for long.
        timeout = self.settings.timeout
        self.exercise_budget = timeout * float(self.manifest.settings["exercise_budget"])
        self.submission_budget = timeout * float(self.manifest.settings["submission_budget"])
        self.spent = {}  # exercise -> seconds its requests took


def pytest_configure(config):
    config.addinivalue_line("markers", "exercise(name): the manifest exercise a grading test belongs to")
    run = config.stash.get(RUN, None)
    if run is None:  # plain pytest: this session is the run, and owns its sandbox (sandbox fixture)
        manifest = manifest_mod.load()
        run = GradingRun(target=config.getoption("--target"), exercises=manifest.names, manifest=manifest,
                         settings=resolve(manifest.settings, config.getoption("--seed"),
                                          config.getoption("--call-timeout")))
        config.stash[RUN] = run
    state = config.stash[STATE] = _State(run)
    # torch's advice about the speed of its own reference calls is noise to a student
    config.addinivalue_line("filterwarnings", "ignore:Using padding='same':UserWarning")
    for ex in state.manifest.exercises:  # pytest -m conv2d, as minitorch's students run -m task1_1
        config.addinivalue_line("markers", f"{ex.name}: the grading tests of {ex.name} ({ex.title})")


def exercise_of(item):
    marker = item.get_closest_marker("exercise")
    return marker.args[0] if marker else None


def pytest_collection_modifyitems(config, items):
    """Keep the selected exercises, in the manifest's order (a student works through them so).
    Tests that are not grading tests (the kit's own, in the same run) are left alone."""
    run = config.stash[STATE].run
    manifest, wanted, case = run.manifest, run.exercises, run.case
    order = {name: k for k, name in enumerate(manifest.names)}
    for item in items:
        if exercise_of(item) in order:
            item.add_marker(exercise_of(item))
    kept = [i for i in items if exercise_of(i) is None or
            (exercise_of(i) in wanted and (not case or case in (i.name, i.originalname)))]
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])

    def position(item):
        if exercise_of(item) is None:
            return -1, 0  # not a grading test: where it was
        tests = list(manifest.get(exercise_of(item)).tests) if exercise_of(item) in order else []
        name = item.originalname
        return order.get(exercise_of(item), len(order)), tests.index(name) if name in tests else len(tests)
    items[:] = sorted(kept, key=position)  # stable: cases keep their order


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The seed again at the end, where -q shows it too: `--lf` replays failed cases only with it."""
    state = config.stash.get(STATE, None)
    failed = terminalreporter.stats.get("failed", [])
    if state is not None and any("exercise" in getattr(r, "keywords", {}) for r in failed):
        terminalreporter.write_line(f"grading seed {state.settings.seed}: pytest --lf --seed {state.settings.seed} "
                                    "replays the cases that failed")


def pytest_report_header(config):
    s = config.stash[STATE].settings
    return f"grading {config.stash[STATE].target} with seed {s.seed}, {s.timeout:g} s per call"


@pytest.fixture(scope="session")
def sandbox(pytestconfig):
    run = pytestconfig.stash[RUN]
    if run.sandbox is not None:  # its owner opened it early, before torch loads, and closes it
        yield run.sandbox
        return
    tests = os.path.dirname(str(pytestconfig.rootpath / "tests" / "grading"))
    with run.open_sandbox(hidden=[tests]):
        yield run.sandbox


@pytest.fixture
def rng(request):
    state = request.config.stash[STATE]
    module = request.node.module.__name__.rsplit(".", 1)[-1]
    return Rng(derive_seed(state.settings.seed, module, request.node.name))


class Student:
    """What a grading test knows of student code: call it, get a value or a clean failure."""

    def __init__(self, sandbox, state, exercise, test):
        self.sandbox, self.state, self.exercise, self.test = sandbox, state, exercise, (exercise, test)
        self.forbid = state.manifest.get(exercise).forbid
        self.modules = list(state.manifest.get(exercise).modules)

    def call(self, module, name, *args, case, lend=None, **kwargs):
        """Call a student function. Its tensor arguments are lent by memory (unless the test
        lends its own), so that changing an input in place is seen and named."""
        import torch
        from .worker.shared import Region
        positions = [k for k, a in enumerate(args) if isinstance(a, torch.Tensor)] if lend is None else []
        if not positions:
            return self.run("call", [module], case, lend=lend, module=module, name=name, args=args, kwargs=kwargs)
        lent, given = Region([args[k] for k in positions]), list(args)
        for j, k in enumerate(positions):
            given[k] = lent[j]
        value = self.run("call", [module], case, lend=lent, module=module, name=name, args=tuple(given), kwargs=kwargs)
        for j, k in enumerate(positions):
            if not torch.equal(lent.now(j), args[k]):
                fail(M.INPUT_CHANGED.format(function=name, position=k + 1,
                                            shape="x".join(map(str, args[k].shape)) or "0-d"), case,
                     Reason.CHANGED_INPUT)
        return value

    def run(self, driver, modules=None, case=None, lend=None, callbacks=None, **kwargs):
        """Run a driver (kit/worker/drivers.py) on the student's modules: by default the
        exercise's, as the manifest lists them; a test that needs fewer names them, so a module
        it does not use cannot cost it points. lend: a kit.worker.shared.Region the worker uses
        in place; callbacks(name, args): the grader's answers to the driver's call backs."""
        modules = self.modules if modules is None else modules
        state = self.state
        if self.test in state.timed_out:
            # the test has lost its points already; its other cases would only cost time
            fail(M.SKIPPED_AFTER_TIMEOUT, reason=Reason.TIMEOUT)
        left_here = state.exercise_budget - state.spent.get(self.exercise, 0.0)
        left_overall = state.submission_budget - sum(state.spent.values())
        if left_here <= 0:
            fail(M.EXERCISE_BUDGET_SPENT.format(budget=state.exercise_budget), reason=Reason.TIMEOUT)
        if left_overall <= 0:
            fail(M.SUBMISSION_BUDGET_SPENT.format(budget=state.submission_budget), reason=Reason.TIMEOUT)
        timeout = min(state.settings.timeout, left_here, left_overall)
        outcome = self.sandbox.run(modules, driver, forbid=self.forbid, timeout=timeout, lend=lend,
                                   callbacks=callbacks, **kwargs)
        state.spent[self.exercise] = state.spent.get(self.exercise, 0.0) + outcome.seconds
        if outcome.kind == "value":
            return outcome.value
        if outcome.kind == "timeout":
            state.timed_out.add(self.test)
            if timeout < state.settings.timeout:  # cut short by a budget, not by the per-call timeout
                budget = state.exercise_budget if left_here <= left_overall else state.submission_budget
                outcome.detail = M.STOPPED_BY_BUDGET.format(seconds=timeout, budget=budget)
        fail(describe_failure(outcome, state.target), case, reason_of(outcome))


def reason_of(outcome):
    """The Reason for an Outcome that is not a value."""
    if outcome.kind in ("forbidden", "timeout"):
        return Reason.FORBIDDEN if outcome.kind == "forbidden" else Reason.TIMEOUT
    if outcome.kind in ("crash", "broken"):
        return Reason.CRASH
    if outcome.error.get("type") == "NotImplementedError":
        return Reason.NOT_IMPLEMENTED
    return Reason.RAISED


def describe_forbidden(event):
    kind, _, operator = event.partition(" ")
    if kind in ("kernels", "private", "bindings") and operator:  # what every worker refuses, by name
        return M.FORBIDDEN[kind].format(event=operator)
    if "::" in event:
        family = "torch.optim" if "_fused_" in event else "convolution"
        return M.FORBIDDEN[family].format(event=event)
    if event == "convolution":
        return M.FORBIDDEN["convolution"].format(event=M.LIBRARY_CONVOLUTION)
    return M.FORBIDDEN.get(event, M.FORBIDDEN["unknown"])


def describe_failure(outcome, target):
    """One sentence for an Outcome that is not a value."""
    if outcome.kind == "forbidden":
        text = "; ".join(dict.fromkeys(describe_forbidden(e) for e in outcome.events))
        return f"{text} (while importing {outcome.module}.py)" if outcome.module else text
    if outcome.kind in ("crash", "timeout", "broken"):
        text = M.TIMEOUT.format(detail=outcome.detail) if outcome.kind == "timeout" else outcome.detail
        return M.CRASH_DURING_IMPORT.format(detail=text, module=outcome.module) if outcome.module else text
    err = outcome.error
    if err.get("type") == "NotImplementedError":
        return f"{M.NOT_IMPLEMENTED} ({err.get('message') or 'raised NotImplementedError'})"
    if err.get("type") == "MissingName":
        return err["message"]
    if outcome.module and err.get("type") == "ModuleNotFoundError" and f"submission.{outcome.module}'" in err.get("message", ""):
        return M.MODULE_MISSING.format(module=outcome.module, target=target)
    if err.get("where"):
        text = M.RAISED_AT.format(**{"type": err["type"], "message": err.get("message", ""),
                                     "where": err["where"], "line": err.get("line", "")})
    else:
        text = M.RAISED.format(type=err.get("type"), message=err.get("message", ""))
    for words, rule in M.TORCH_ERRORS.items():  # what torch's own rule is, where its message is terse
        if words in err.get("message", ""):
            text += f" ({rule})"
            break
    if outcome.module:
        text = f"{M.IMPORT_FAILED.format(module=outcome.module)}: {text}"
    return text


@pytest.fixture
def student(request, sandbox):
    exercise = exercise_of(request.node)
    if exercise is None:
        raise RuntimeError(f"{request.node.nodeid} has no exercise marker")
    state = request.config.stash[STATE]
    if state.current_exercise != exercise:
        # Each exercise starts in a fresh worker (a fork: milliseconds), so whatever student
        # code did to its process while one exercise was graded cannot reach another.
        sandbox.recycle()
        state.current_exercise = exercise
    yield Student(sandbox, state, exercise, request.node.originalname)
    from .worker import shared
    shared.close_all()  # the memory this test lent: one descriptor each, for a run of thousands
