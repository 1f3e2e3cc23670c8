"""Student code that tries to break or game the grader: none of it raises a score or stops the report.

Each attack is appended to a copy of the reference solutions, usually next to a wrong answer
that it tries to pass off as right; the test checks the score the grader gives.
"""
import os

import pytest

from kit_support import ROOT, build_submission

from kit import messages as M

FLIPPED_CONV2D = '''
_reference_conv2d = conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _reference_conv2d(input, weight.flip(-1, -2), bias, stride, padding, dilation, groups)
'''
LEAKY_RELU = '''
def relu(x):
    return torch.where(x > 0, x, 0.5 * x)
'''


def exercise(report, name):
    return next(e for e in report.exercises if e.name == name)


def full(report, name):
    ex = exercise(report, name)
    return ex.score == ex.max_score


# -- patching what judges the answer ------------------------------------------------------------

@pytest.mark.parametrize("patch", [
    "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True",
    "import torch.testing\ntorch.testing.assert_close = lambda *a, **k: None",
    "torch.Tensor.__eq__ = lambda self, other: True\ntorch.Tensor.__sub__ = lambda self, other: self * 0",
    "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None",
    "import pytest\npytest.fail = lambda *a, **k: None\nimport _pytest.runner\n"
    "_pytest.runner.call_and_report = lambda *a, **k: None",
    "import kit.compare\nkit.compare.expect_close = lambda *a, **k: None\nkit.compare.fail = lambda *a, **k: None",
])
def test_patching_comparisons_pytest_or_the_kit_changes_nothing(grade, submission, patch):
    report = grade(submission({"conv2d": "import torch\n" + patch + "\n" + FLIPPED_CONV2D}),
                   exercises=["conv2d", "conv_transpose2d"])
    assert not full(report, "conv2d") and full(report, "conv_transpose2d")


def test_forged_reports_cannot_be_written(grade, submission, tmp_path):
    forged = tmp_path / "report.json"
    attack = (f"try:\n    open({str(forged)!r}, 'w').write('{{\"score\": 100}}')\nexcept PermissionError:\n    pass\n"
              + LEAKY_RELU)
    report = grade(submission({"forward": attack}), exercises=["forward"])
    assert not forged.exists()
    assert exercise(report, "forward").score < 10


# -- escaping or attacking the processes -------------------------------------------------------

@pytest.mark.parametrize("attack, expected", [
    ("import os\nos.kill({grader}, 9)", "PermissionError"),
    ("import os\nos.kill(os.getppid(), 9)", "PermissionError"),
    ("import os\nos.fork()", "PermissionError"),
    ("import subprocess\nsubprocess.Popen(['sleep', '100'])", "PermissionError"),
    ("import socket\nsocket.socket().connect(('127.0.0.1', 9))", "PermissionError"),
    ("import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'\\x01' * 64)\n    except OSError:\n        pass",
     ""),
])
def test_process_attacks_fail_only_their_own_test(grade, submission, attack, expected):
    code = attack.format(grader=os.getpid())
    folder = submission({"training_loop": "def train(*args, **kwargs):\n" +
                         "".join("    " + line + "\n" for line in code.splitlines())})
    report = grade(folder, exercises=["zero_grad", "training_loop", "conv2d"])
    loop = exercise(report, "training_loop")
    assert loop.score == 0 and expected in loop.first_failure.message
    assert full(report, "zero_grad") and full(report, "conv2d")


def test_sleeping_forever_times_out(grade, submission):
    report = grade(submission({"training_loop": "import time\ndef train(*a, **k):\n    time.sleep(100)"}),
                   exercises=["training_loop", "zero_grad"], timeout=1)
    assert exercise(report, "training_loop").first_failure.message.startswith(
        M.TIMEOUT.format(detail=M.TOOK_TOO_LONG.format(seconds=1)))
    assert full(report, "zero_grad")


# -- forbidden calls, every way they can be reached -----------------------------------------------

SOLUTION_ROUTES = {
    "import": f"sys.path.insert(0, {ROOT!r})\nimport solutions.conv2d as s",
    "importlib": f"sys.path.insert(0, {ROOT!r})\nimport importlib\ns = importlib.import_module('solutions.conv2d')",
    "open": f"s = {{}}\nexec(open({os.path.join(ROOT, 'solutions', 'conv2d.py')!r}).read(), s)",
    "runpy": f"import runpy\ns = runpy.run_path({os.path.join(ROOT, 'solutions', 'conv2d.py')!r})",
    "a relative path from the worker's folder": "import os\nos.chdir(os.path.dirname(__file__))\n"
                                                "s = {}\nexec(open('../solutions/conv2d.py').read(), s)",
}


@pytest.mark.parametrize("route", list(SOLUTION_ROUTES))
def test_the_solutions_cannot_be_read(grade, tmp_path, route):
    """A stub that hands over to the reference solution, reached every way: it earns nothing,
    because the reference is not there to read."""
    folder = build_submission(tmp_path / "s")
    with open(os.path.join(folder, "conv2d.py"), "w") as f:
        f.write("import sys\n" + SOLUTION_ROUTES[route] + "\n"
                "def conv2d(*args, **kwargs):\n    return (s['conv2d'] if isinstance(s, dict) else s.conv2d)(*args, **kwargs)\n")
    report = grade(folder, exercises=["conv2d", "conv_transpose2d"])
    assert exercise(report, "conv2d").score == 0
    assert "No such file" in exercise(report, "conv2d").first_failure.message or \
        "No module named 'solutions'" in exercise(report, "conv2d").first_failure.message
    assert full(report, "conv_transpose2d")


def test_nothing_outlives_a_grader_that_is_killed(tmp_path):
    """A worker stuck in an endless loop ends with the grader, even when the grader is SIGKILLed."""
    import signal
    import subprocess
    import sys
    import time
    from kit_support import build_submission
    folder = build_submission(tmp_path / "s", [("forward", "def relu(x):\n    while True:\n        pass")])
    grader = subprocess.Popen([sys.executable, os.path.join(ROOT, "grader.py"), "forward", "--submission", folder,
                               "--timeout", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stat(pid):
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    def workers():
        """Processes forked by this grader's zygote that burn CPU: the endless loop."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                zygote = int(stat(pid)[1])
                if int(stat(zygote)[1]) == grader.pid and stat(pid)[0] == "R" and int(stat(pid)[11]) > 50:
                    found.append(int(pid))
            except (OSError, IndexError, ValueError):
                pass
        return found

    def alive(pid):
        try:
            return stat(pid)[0] not in "ZX"
        except OSError:
            return False
    deadline = time.monotonic() + 60
    while not workers() and time.monotonic() < deadline:
        time.sleep(0.3)
    spinning = workers()
    assert spinning, "the endless loop never started"
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    deadline = time.monotonic() + 10
    while any(map(alive, spinning)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(alive, spinning)), "the worker outlived its grader"


def test_sleeping_just_under_the_timeout_in_every_call_cannot_hold_the_grader(grade, submission):
    """Each call returns just before the 1 s timeout: without the time budgets this would
    take a minute; with them, an exercise costs at most 2 s and the run at most 6 s."""
    import time
    sleepy = "import time\ndef {}(*args, **kwargs):\n    time.sleep(0.9)\n"
    folder = submission({"forward": sleepy.format("relu") + "\n" + sleepy.format("linear"),
                         "conv2d": sleepy.format("conv2d"), "conv_transpose2d": sleepy.format("conv_transpose2d"),
                         "loss": "import time\nclass MSELoss:\n    def __init__(self):\n        time.sleep(0.9)"})
    start = time.monotonic()
    report = grade(folder, exercises=["forward", "loss", "conv2d", "conv_transpose2d"], timeout=1)
    assert time.monotonic() - start < 6 + 20  # the submission's budget, plus the grader's own work
    messages = " ".join(t.message for e in report.exercises for t in e.tests)
    assert M.EXERCISE_BUDGET_SPENT.format(budget=2) in messages
    assert M.SUBMISSION_BUDGET_SPENT.format(budget=6) in messages
    assert report.score == 0
