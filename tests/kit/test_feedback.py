"""Feedback that teaches: the explain view against torch, hints, reruns of one case, watch mode."""
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from kit_support import EXERCISES, MANIFEST, ROOT, SOLUTIONS, build_submission

from kit import explain

GEOMETRIES = [explain.Geometry(4, 3), explain.Geometry(5, 3, stride=2, padding=1), explain.Geometry(6, 4, padding=2),
              explain.Geometry(6, 2, stride=3), explain.Geometry(5, 2, dilation=2, padding=1),
              explain.Geometry(3, 3, stride=2, padding=1, output_padding=1),
              explain.Geometry(4, 3, stride=1, dilation=2, padding=2, output_padding=1)]


def torch_links(op, g):
    """{(out cell, in cell, tap)} found by running torch on one-hot inputs and one-hot kernels."""
    links = set()
    for u in range(g.kernel):
        for v in range(g.kernel):
            w = torch.zeros(1, 1, g.kernel, g.kernel, dtype=torch.float64)
            w[0, 0, u, v] = 1
            for r in range(g.size):
                for c in range(g.size):
                    x = torch.zeros(1, 1, g.size, g.size, dtype=torch.float64)
                    x[0, 0, r, c] = 1
                    if op == "conv2d":
                        out = F.conv2d(x, w, stride=g.stride, padding=g.padding, dilation=g.dilation)
                    else:
                        out = F.conv_transpose2d(x, w, stride=g.stride, padding=g.padding,
                                                 output_padding=g.output_padding, dilation=g.dilation)
                    for i, j in out[0, 0].nonzero().tolist():
                        links.add(((i, j), (r, c), (u, v)))
    return links, out.shape[-1]


@pytest.mark.parametrize("g", GEOMETRIES, ids=str)
def test_explain_maps_match_torch(g):
    if explain.check("conv2d", g) is None:
        links, size = torch_links("conv2d", g)
        assert explain.conv_out(g) == size
        ours = {(o, cell, tap) for o, taps in explain.gather_map(g).items() for cell, tap in taps if cell}
        assert ours == links
    if explain.check("conv_transpose2d", g) is None:
        links, size = torch_links("conv_transpose2d", g)
        assert explain.transpose_out(g) == size
        ours = {(cell, i, tap) for i, taps in explain.scatter_map(g).items() for cell, tap in taps if cell}
        assert ours == links


@pytest.mark.parametrize("g", [g for g in GEOMETRIES if explain.check("conv2d", g) is None], ids=str)
def test_the_gradient_of_conv2d_is_the_transposed_convolution_explain_prints(g):
    x = torch.randn(1, 2, g.size, g.size, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, g.kernel, g.kernel, dtype=torch.float64)
    out = F.conv2d(x, w, stride=g.stride, padding=g.padding, dilation=g.dilation)
    grad_output = torch.randn_like(out)
    out.backward(grad_output)
    text = explain.explain_conv2d(g)
    output_padding = int(re.search(r"output_padding=(\d+)", text).group(1))
    again = F.conv_transpose2d(grad_output, w, stride=g.stride, padding=g.padding, output_padding=output_padding,
                               dilation=g.dilation)
    assert torch.allclose(again, x.grad)


@pytest.mark.parametrize("g", [g for g in GEOMETRIES if explain.check("conv2d", g) is None], ids=str)
def test_the_conv2d_picture_counts_every_read_the_text_lists(g, monkeypatch, tmp_path):
    """The reads of padding zeros too: the text's tap lines, its picture and the PNG agree."""
    text = explain.explain_conv2d(g)
    taps = " ".join(re.findall(r"^  out\[\d+,\d+\] = (.*)$", text, re.M))
    listed_padding = sum(int(n) for n in re.findall(r"\(\+(\d+) taps on padding zeros\)", taps))
    listed_input = Counter((int(r), int(c)) for r, c in re.findall(r"x\[(\d+),(\d+)\]", taps))
    header = text.index("How many output cells read each cell of the padded input")
    rows = text[header:].split("\n")[1:g.size + 2 * g.padding + 1]
    w = explain.cell_width(explain.read_counts(g)) + 2
    picture = [[row[2 + w * b:2 + w * (b + 1)] for b in range(g.size + 2 * g.padding)] for row in rows]
    shown_padding, shown_input = 0, Counter()
    for a, row in enumerate(picture):
        for b, cell in enumerate(row):
            count = 0 if cell.strip(" []") == "." else int(cell.strip(" []"))
            assert cell.startswith("[") == explain.is_input(g, a, b), (a, b, rows)
            assert count == explain.read_counts(g)[a][b]
            if cell.startswith("["):
                shown_input[(a - g.padding, b - g.padding)] = count
            else:
                shown_padding += count
    assert +shown_input == listed_input
    assert shown_padding == listed_padding == explain.padding_reads(g)
    assert f"reads of padding zeros: {listed_padding} in all" in text
    pytest.importorskip("matplotlib")
    drawn = []
    monkeypatch.setattr(explain, "read_counts", lambda g, real=explain.read_counts: drawn.append(real(g)) or drawn[-1])
    explain.draw("conv2d", g, tmp_path / "c.png")
    assert drawn and drawn[0] == explain.read_counts.__defaults__[0](g)  # the PNG draws these very counts


def test_an_unexplained_answer_says_what_the_numbers_show():
    """No known mistake: the message still says the factor (and which of the case's sizes it is),
    a flipped sign, or which part of the answer differs."""
    from kit import messages as M
    from kit.compare import diagnose
    e = torch.randn(5, 3, dtype=torch.float64)
    text = diagnose("p", e / 5, {}, expected=e, sizes={"the batch size": 5, "the number of classes": 3})[0]
    assert "exactly 1/5 of torch's (5 is the batch size here)" in text and M.NO_KNOWN_MISTAKE in text
    assert "exactly the negative of torch's" in diagnose("p", -e, {}, expected=e)[0]
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    off = x.clone()
    off[:, 1, -1, :] += 1
    assert "10 of 120 values differ (only in channel [1], only in row [3])" in diagnose("p", off, {}, expected=x)[0]
    assert "with dimensions 0 and 1 swapped" in diagnose("p", e.T.contiguous(), {}, expected=e)[0]
    late = torch.cat([torch.full_like(x[:, :, :1], 7.0), x[:, :, :-1]], dim=2)  # every row one further down
    assert "shifted by one along dimension 2: each value sits one index later" in diagnose("p", late, {},
                                                                                            expected=x)[0]


def test_two_mistakes_with_the_same_answer_are_both_named():
    from kit.compare import diagnose
    from kit.misconceptions import CATALOG
    e = torch.randn(4, dtype=torch.float64)
    text, key = diagnose("p", e * 2, {"mse_factor_2": lambda: e * 2, "sum_vs_mean": lambda: [e * 3, e * 2]},
                         expected=e)
    assert key == "mse_factor_2|sum_vs_mean"
    assert text.startswith(f"looks like {CATALOG['mse_factor_2'].name} or {CATALOG['sum_vs_mean'].name}: ")


def run(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, os.path.join(ROOT, "grader.py"), *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_explain_prints_the_formula_with_the_numbers():
    result = run("--explain", "conv_transpose2d", "--size", "3", "--kernel", "3", "--stride", "2",
                 "--padding", "1", "--output-padding", "1")
    assert result.returncode == 0
    assert "= (3 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 6" in result.stdout
    assert "x[0,0]: out[0,0]+=x[0,0]*w[1,1]" in result.stdout
    bad = run("--explain", "conv2d", "--size", "2", "--kernel", "5")
    assert bad.returncode == 2 and "smaller than the dilated kernel" in bad.stdout


def test_png_is_drawn_or_the_missing_extra_is_named(tmp_path):
    path = tmp_path / "conv.png"
    result = run("--explain", "conv2d", "--png", str(path))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert result.returncode == 2 and 'pip install -e ".[plot]"' in result.stdout
        assert not path.exists()
    else:
        assert result.returncode == 0 and path.read_bytes()[:4] == b"\x89PNG"


def test_hints_come_one_level_at_a_time(tmp_path):
    env = {"GRADER_HOME": str(tmp_path)}
    hints = MANIFEST.get("conv2d").hints
    for level in range(1, len(hints) + 2):
        out = run("--hint", "conv2d", env=env).stdout
        shown = min(level, len(hints))
        assert f"{shown} of {len(hints)}" in out
        assert hints[shown - 1] in out and (shown == len(hints) or hints[shown] not in out)
    assert "That was the last hint." in out
    assert run("--hint", "conv3d", env=env).returncode == 2


def test_a_failing_message_reruns_exactly_its_case(tmp_path):
    folder = build_submission(tmp_path / "s", [("conv2d", "_ref = conv2d\ndef conv2d(input, weight, bias=None, "
                                                "stride=1, padding=0, dilation=1, groups=1):\n    return _ref(input, "
                                                "weight.flip(-1, -2), bias, stride, padding, dilation, groups)")])
    full = run("conv2d", "--submission", folder, "--seed", "21").stdout
    assert "Progress: 0 of 1 exercises done [-]" in full
    command = re.search(r"rerun: (python grader.py conv2d --case '(test_\w+\[\d+\])' --seed 21 --submission \S+)",
                        full.replace("\n           ", " "))
    assert command, full
    case_label = re.search(r"on case: ([^\[]*?) (?:\[|-- rerun)", full.replace("\n           ", " ")).group(1)
    again = run(*shlex.split(command.group(1))[2:]).stdout.replace("\n           ", " ")
    assert command.group(2).split("[")[0] in again and case_label in again
    assert "Only " + command.group(2) + " ran" in again


def test_watch_regrades_when_a_file_changes(tmp_path):
    folder = tmp_path / "w"
    import shutil
    shutil.copytree(EXERCISES, folder)
    proc = subprocess.Popen([sys.executable, "-u", os.path.join(ROOT, "grader.py"), "--watch", "forward",
                             "--submission", str(folder), "--seed", "3"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Watching"):
                if any("[pass] forward" in x for x in lines):
                    break
                time.sleep(0.5)
                for name in ("forward.py", "backward.py"):
                    shutil.copy(os.path.join(SOLUTIONS, name), folder / name)
        assert any("[todo] forward" in x for x in lines) and any("[pass] forward" in x for x in lines)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0


@pytest.mark.parametrize("module, source, exercise, words", [
    ("optim", "def _step(self):\n    for p in self.params:\n        if p.grad is not None:\n"
              "            p -= self.lr * p.grad\nSGD.step = _step", "sgd",
     "a leaf Variable that requires grad is being used in an in-place operation"),
    ("forward", "def linear(x, weight, bias):\n    return x @ weight + bias", "forward",
     "mat1 and mat2 shapes cannot be multiplied"),
])
def test_a_terse_torch_error_comes_with_the_rule_behind_it(grade, submission, module, source, exercise, words):
    """A new student met torch's terse errors with no word on the rule behind them (the update
    outside torch.no_grad(), a matmul of the wrong sizes): the rule follows torch's words."""
    from kit import messages as M
    report = grade(submission({module: source}), exercises=[exercise])
    messages = [t.message for t in report.exercises[0].tests if t.status == "failed"]
    assert any(words in m and f"({M.TORCH_ERRORS[words]})" in m for m in messages), messages


def test_explain_without_matplotlib_prints_the_explanation_and_says_no_png_was_drawn(monkeypatch, capsys, tmp_path):
    """As --train does: the picture is the extra, the explanation is what was asked for."""
    from kit import messages as M

    def no_matplotlib(*args, **kwargs):
        raise ImportError("No module named 'matplotlib'")
    monkeypatch.setattr(explain, "draw", no_matplotlib)
    path = str(tmp_path / "x.png")
    assert explain.main("conv2d", GEOMETRIES[0], png=path) == 0
    out = capsys.readouterr().out
    assert out.startswith(explain.explain_conv2d(GEOMETRIES[0])) and M.NO_MATPLOTLIB.format(path=path) in out
