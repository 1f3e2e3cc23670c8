"""grader.py as students and CI run it: arguments, exit codes, the report and the JSON."""
import json
import os
import subprocess
import sys

import pytest

from kit_support import MANIFEST, ROOT

from kit import messages as M


def run(*args, env=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, "grader.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


@pytest.mark.parametrize("args, expected", [
    (["convolution"], "unknown exercise 'convolution'; valid exercises: " + ", ".join(MANIFEST.names)),
    (["--submission", "no/such/folder"], "folder not found: no/such/folder"),
    (["--seed", "abc"], "--seed must be a int"),
    (["--timeout", "0"], "--timeout must be positive"),
    (["--fail-under", "150"], "--fail-under takes a percentage from 0 to 100"),
    (["--solutions", "--submission", "x"], "not allowed with argument"),
    (["--batch", ".", "--json", "r.json"], "--json cannot be used with --batch"),
    (["--watch", "--fail-under", "50"], "--fail-under cannot be used with --watch"),
    (["--case", "test_basic"], "--case takes one exercise and one of its tests"),
    (["conv2d", "--case", "test_nothing"], "conv2d has no test named 'test_nothing'; its tests: test_basic"),
])
def test_usage_errors_exit_2_with_a_clear_message(args, expected):
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_grading_solutions_writes_the_json_report(tmp_path):
    out = tmp_path / "report.json"
    result = run("forward", "sgd", "--solutions", "--seed", "12", "--json", str(out), "--fail-under", "100")
    assert result.returncode == 0, result.stdout + result.stderr
    total = MANIFEST.get("forward").max_score + MANIFEST.get("sgd").max_score
    assert "seed 12" in result.stdout and f"Total: {total}/{total}" in result.stdout
    report = json.loads(out.read_text())
    assert set(report) == {"score", "max_score", "seed", "exercises", "sandboxed"} and report["sandboxed"]
    assert (report["score"], report["max_score"], report["seed"]) == (total, total, 12)
    assert [e["name"] for e in report["exercises"]] == ["forward", "sgd"]
    for ex in report["exercises"]:
        assert {"name", "score", "max_score", "tests"} <= set(ex)
        assert ex["score"] == sum(t["score"] for t in ex["tests"])
        assert [t["name"] for t in ex["tests"]] == list(MANIFEST.get(ex["name"]).tests)
        for t in ex["tests"]:
            assert set(t) == {"name", "status", "score", "max_score", "message"}
            assert t["status"] == "passed" and t["message"] == ""


def test_stubs_fail_under_and_report_not_implemented(tmp_path):
    out = tmp_path / "report.json"
    result = run("--json", str(out), "--fail-under", "50", env={"GRADER_SEED": "77"})
    assert result.returncode == 1
    assert "seed 77" in result.stdout and f"Total: 0/{MANIFEST.max_score:g}" in result.stdout
    assert "Next: forward" in result.stdout and "python grader.py forward --seed 77" in result.stdout
    report = json.loads(out.read_text())
    assert report["score"] == 0 and report["seed"] == 77
    assert all(t["message"].startswith(M.NOT_IMPLEMENTED) for t in report["exercises"][0]["tests"])


def test_same_seed_same_report(tmp_path, submission):
    folder = submission({"conv2d": "def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):\n"
                                   "    return input[:, :weight.shape[0]]\n"})
    reports = []
    for k in range(2):
        out = tmp_path / f"r{k}.json"
        assert run("conv2d", "--submission", folder, "--seed", "5", "--json", str(out)).returncode == 0
        reports.append(json.loads(out.read_text()))
    assert reports[0] == reports[1]
    assert reports[0]["score"] < reports[0]["max_score"]
