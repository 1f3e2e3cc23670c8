"""Broken submissions get a clear message, and lose nothing beyond what they touch."""
import os

import pytest

from kit_support import ROOT, build_submission

from kit import messages as M


def full_except(report, *broken):
    for ex in report.exercises:
        if ex.name in broken:
            assert ex.score < ex.max_score, ex.name
        else:
            assert ex.score == ex.max_score, (ex.name, [t.message for t in ex.tests if t.message])


def message(report, exercise):
    return report.exercises[[e.name for e in report.exercises].index(exercise)].first_failure.message


def test_syntax_error_costs_only_that_files_exercises(grade, submission):
    folder = submission({"conv2d": "def broken(:\n    pass"})
    report = grade(folder)
    full_except(report, "conv2d")
    text = message(report, "conv2d")
    assert "conv2d.py could not be imported" in text and "SyntaxError" in text and "conv2d.py, line" in text
    assert next(e for e in report.exercises if e.name == "conv2d").score == 0


def test_missing_module_is_named(grade, submission):
    folder = submission()
    os.remove(os.path.join(folder, "training_loop.py"))
    report = grade(folder)
    full_except(report, "training_loop")
    assert message(report, "training_loop").startswith(M.MODULE_MISSING.format(module="training_loop", target=folder))


@pytest.mark.parametrize("body, expected", [
    ("return None", M.RETURNED_NONE.format(what="relu output")),
    ("return x.tolist()", "relu output should be a torch.Tensor, but your code returned a list of"),
    ("return x.numpy()", M.RETURNED_NUMPY.format(what="relu output")),
    ("return x.flatten().clamp(min=0)", "relu output has shape"),
    ("return x.clamp(min=0).double() if x.dtype == torch.float32 else x.clamp(min=0).float()", "relu output has dtype"),
    ("return print", "relu output should be a torch.Tensor, but your code returned a builtin_function_or_method"),
])
def test_wrong_return_values_are_described(grade, submission, body, expected):
    report = grade(submission({"forward": f"def relu(x):\n    {body}"}), exercises=["forward"])
    relu = report.exercises[0].tests[1]
    assert relu.status == "failed" and expected in relu.message, relu.message
    assert "on case:" in relu.message


def test_missing_function_is_named(grade, submission):
    report = grade(submission({"forward": "del relu"}), exercises=["forward"])
    assert report.exercises[0].tests[1].message.startswith("forward.py has no `relu`")


@pytest.mark.parametrize("code, expected", [
    ("import os; os._exit(0)", M.WORKER_EXITED.format(code=0)),
    ("import sys; sys.exit(3)", "raised SystemExit"),
    ("import faulthandler; faulthandler._sigsegv()", "the worker process crashed with a segmentation fault"),
    ("import ctypes; ctypes.string_at(0)", M.WORKER_CRASHED.format(name=M.SEALED_TRAP)),  # ctypes is sealed
    ("raise KeyboardInterrupt", "raised KeyboardInterrupt"),
])
def test_crashes_cost_only_the_test(grade, submission, code, expected):
    folder = submission({"conv_transpose2d": f"def conv_transpose2d(*args, **kwargs):\n    {code}"})
    report = grade(folder, exercises=["conv2d", "conv_transpose2d", "training_loop"])
    full_except(report, "conv_transpose2d")
    assert expected in message(report, "conv_transpose2d")


def test_endless_loop_times_out_and_grading_goes_on(grade, submission):
    folder = submission({"forward": "def relu(x):\n    while True:\n        pass"})
    report = grade(folder, exercises=["forward", "loss"], timeout=1)
    full_except(report, "forward")
    linear, relu, mlp = report.exercises[0].tests
    assert linear.status == "passed"
    assert relu.message.startswith(M.TIMEOUT.format(detail=M.TOOK_TOO_LONG.format(seconds=1)))
    assert relu.cases_failed == relu.cases_total > 1  # the rest were not run: the points were lost already
    # the exercise's time budget (twice the timeout) ran out during the next test
    assert mlp.message.startswith(M.TIMEOUT.format(detail=M.STOPPED_BY_BUDGET.format(seconds=0, budget=2)).split("0 s")[0])


def test_endless_loop_at_import_costs_that_files_exercises_once(grade, submission):
    folder = submission({"loss": "while True:\n    pass"})
    report = grade(folder, exercises=["forward", "loss"], timeout=1)
    full_except(report, "loss")
    assert "while importing loss.py" in message(report, "loss")


def test_importing_the_solutions_fails_clearly(grade, tmp_path):
    folder = build_submission(tmp_path / "s")
    with open(os.path.join(folder, "forward.py"), "w") as f:
        f.write(f"import sys\nsys.path.insert(0, {ROOT!r})\nfrom solutions.forward import *\n")
    report = grade(folder, exercises=["forward"])
    assert report.score == 0
    assert "forward.py could not be imported: raised ModuleNotFoundError" in message(report, "forward")
