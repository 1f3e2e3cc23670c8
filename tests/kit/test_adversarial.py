"""Student code that tries to break or game the grader: none of it raises a score or stops the report.

Each attack is appended to a copy of the reference solutions, usually next to a wrong answer
that it tries to pass off as right; the test checks the score the grader gives.
"""
import os

import pytest

from conftest import ROOT, build_submission

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
        M.TIMEOUT.format(detail="took longer than 1 s (stopped)"))
    assert full(report, "zero_grad")


# -- forbidden calls, every way they can be reached -----------------------------------------------

CONV_ROUTES = {
    "F.conv2d": "torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups)",
    "torch.conv2d": "torch.conv2d(input, weight, bias, stride, padding, dilation, groups)",
    "nn.Conv2d": "torch.nn.Conv2d(2, 2, 2)(torch.ones(1, 2, 3, 3))",
    "alias taken at import": "_alias(input, weight, bias, stride, padding, dilation, groups)",
    "computed name": "getattr(torch.nn.functional, 'con' + 'v2d')(input, weight, bias, stride, padding, dilation, groups)",
    "torch.ops.aten.convolution": "torch.ops.aten.convolution(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), None,"
                                  " [1, 1], [0, 0], [1, 1], False, [0, 0], 1)",
    "aten._convolution": "torch.ops.aten._convolution(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), None, [1, 1],"
                         " [0, 0], [1, 1], False, [0, 0], 1, False, False, False, False)",
    "mkldnn tensors": "torch.ops.aten.mkldnn_convolution(torch.ones(1, 1, 3, 3).to_mkldnn(),"
                      " torch.ones(1, 1, 2, 2).to_mkldnn(), None, [0, 0], [1, 1], [1, 1], 1)",
    "F.unfold": "torch.nn.functional.unfold(torch.ones(1, 1, 3, 3), 2)",
    "F.fold": "torch.nn.functional.fold(torch.ones(1, 4, 4), (3, 3), 2)",
    "im2col by its C name": "torch._C._nn.im2col(torch.ones(1, 1, 3, 3), [2, 2], [1, 1], [0, 0], [1, 1])",
    "F.conv_transpose2d": "torch.nn.functional.conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))",
    "conv1d on a reshaped input": "torch.nn.functional.conv1d(torch.ones(1, 1, 5), torch.ones(1, 1, 2))",
    "the conv gradient helper": "torch.nn.grad.conv2d_input((1, 1, 3, 3), torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))",
}


@pytest.mark.parametrize("route", list(CONV_ROUTES))
def test_convolution_is_caught_however_reached_even_if_the_error_is_swallowed(grade, submission, route):
    source = ("_alias = torch.nn.functional.conv2d\n_reference_conv2d = conv2d\n"
              "def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):\n"
              f"    try:\n        {CONV_ROUTES[route]}\n    except BaseException:\n        pass\n"
              "    return _reference_conv2d(input, weight, bias, stride, padding, dilation, groups)")
    report = grade(submission({"conv2d": source}), exercises=["conv2d"])
    conv = exercise(report, "conv2d")
    assert conv.score == 0
    assert "a built-in convolution" in conv.first_failure.message


# Each route computes the right answer with the forbidden tool: if it went unnoticed, the
# test would pass. The grader must fail it, whether it notices the call or the route breaks.
AUTOGRAD_ROUTES = {
    "Tensor.backward": "torch.relu(x).backward(grad_output)\n    return x.grad",
    "torch.autograd.grad": "return torch.autograd.grad(torch.relu(x), x, grad_output)[0]",
    "torch.autograd.backward": "torch.autograd.backward([torch.relu(x)], [grad_output])\n    return x.grad",
    "torch.func.vjp": "_, pullback = torch.func.vjp(torch.relu, x)\n    return pullback(grad_output)[0]",
    "torch.autograd.functional.vjp": "return torch.autograd.functional.vjp(torch.relu, x, grad_output)[1]",
    "after trying to switch the watch off": "import sys\n    try:\n        sys.setprofile(None)\n"
                                            "    except PermissionError:\n        pass\n"
                                            "    torch.relu(x).backward(grad_output)\n    return x.grad",
}


@pytest.mark.parametrize("route", list(AUTOGRAD_ROUTES))
def test_autograd_is_caught_in_backward(grade, submission, route):
    source = ("def relu_backward(grad_output, x):\n    x = x.detach().requires_grad_()\n"
              f"    {AUTOGRAD_ROUTES[route]}")
    report = grade(submission({"backward": source}), exercises=["backward", "training_loop"])
    test = exercise(report, "backward").tests[1]
    assert test.status == "failed"
    if route != "torch.func.vjp":  # torch.func cannot even start: it needs to write temporary files
        assert test.message.startswith(M.FORBIDDEN["autograd"]), test.message
    assert full(report, "training_loop")  # its stand-ins use autograd freely


OPTIM_ROUTES = {
    "torch.optim.SGD": "torch.optim.SGD(live, lr=self.lr).step()",
    "torch.optim.Adam's module": "torch.optim.Adam(live, lr=self.lr)\n    torch.optim.SGD(live, lr=self.lr).step()",
    "the functional form": "torch.optim._functional.sgd(live, [p.grad for p in live], [None] * len(live),"
                           " weight_decay=0, momentum=0, lr=self.lr, dampening=0, nesterov=False, maximize=False)",
    "the fused kernel": "torch._fused_sgd_(live, [p.grad for p in live], [], weight_decay=0.0, momentum=0.0,"
                        " lr=self.lr, dampening=0.0, nesterov=False, maximize=False, is_first_step=False)",
}


@pytest.mark.parametrize("route", list(OPTIM_ROUTES))
def test_torch_optim_is_caught_in_sgd(grade, submission, route):
    source = ("def _step(self):\n    live = [p for p in self.params if p.grad is not None]\n"
              f"    {OPTIM_ROUTES[route]}\nSGD.step = _step")
    report = grade(submission({"optim": source}), exercises=["sgd"])
    plain = exercise(report, "sgd").tests[0]
    assert plain.status == "failed" and plain.message.startswith(M.FORBIDDEN["torch.optim"]), plain.message


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


# -- switching the guards off ---------------------------------------------------------------------

@pytest.mark.parametrize("attack", [
    "import weakref\nfor f in list(weakref.finalize._registry):\n    f()",
    "import gc\nfor o in gc.get_objects():\n    getattr(o, '_destroy', lambda: None)()",
    "import sys\nfor m in list(sys.modules.values()):\n    for lib in getattr(m, '_libraries', []) or []:\n"
    "        getattr(lib, '_destroy', lambda: None)()",
    "import sys\ng = sys.modules['guards']\ng._forbidden.__defaults__ = (None, None, None, None)",
    "import sys\ng = sys.modules['guards']\ng._forbidden.__code__ = (lambda *a, **k: None).__code__",
])
def test_the_convolution_ban_cannot_be_switched_off(grade, submission, attack):
    body = "try:\n" + "".join("    " + line + "\n" for line in attack.splitlines()) + "except BaseException:\n    pass\n"
    source = body + ("def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):\n"
                     "    return torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups)")
    report = grade(submission({"conv2d": source}), exercises=["conv2d"])
    conv = exercise(report, "conv2d")
    assert conv.score == 0 and "a built-in convolution" in conv.first_failure.message, conv.first_failure.message


def test_nothing_outlives_a_grader_that_is_killed(tmp_path):
    """A worker stuck in an endless loop ends with the grader, even when the grader is SIGKILLed."""
    import signal
    import subprocess
    import sys
    import time
    from conftest import build_submission
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
