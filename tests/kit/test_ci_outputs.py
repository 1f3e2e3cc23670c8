"""What CI systems read: Gradescope's results.json, JUnit XML, the job summary, private tests,
batch grading, the handout with its GitHub Classroom workflow, and the Gradescope zip."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from xml.etree import ElementTree as ET

import pytest

from kit_support import EXERCISES, MANIFEST, ROOT, SOLUTIONS, build_submission

from kit import gradescope, handout
from kit import writers
from wrong_implementations import WRONG

MIXED = [(w.module, w.source) for w in WRONG if w.name in ("leaky relu", "flipped kernel", "nesterov formula swapped")]


@pytest.fixture(scope="module")
def mixed_report(grade, tmp_path_factory):
    return grade(build_submission(tmp_path_factory.mktemp("mixed") / "s", MIXED), seed=4)


def test_gradescope_results_agree_with_the_report(mixed_report, tmp_path):
    path = tmp_path / "results.json"
    writers.write_gradescope(mixed_report, path, "summary")
    data = json.loads(path.read_text())
    ours = [(f"{e.name}: {t.name}", t.score, t.max_score, t.status, t.message)
            for e in mixed_report.exercises for t in e.tests]
    theirs = [(t["name"], t["score"], t["max_score"], t["status"], t["output"]) for t in data["tests"]]
    assert theirs == ours
    assert data["score"] == mixed_report.score == sum(t["score"] for t in data["tests"]) < MANIFEST.max_score
    assert all(t["visibility"] == "visible" for t in data["tests"])


def test_junit_agrees_with_the_report(mixed_report, tmp_path):
    path = tmp_path / "junit.xml"
    writers.write_junit(mixed_report, path)
    root = ET.parse(path).getroot()
    cases = {(c.get("classname"), c.get("name")): c.find("failure") for c in root.iter("testcase")}
    assert len(cases) == sum(len(e.tests) for e in mixed_report.exercises)
    for e in mixed_report.exercises:
        for t in e.tests:
            failure = cases[(e.name, t.name)]
            assert (failure is None) == (t.status == "passed")
            if failure is not None:
                assert failure.text == t.message
    assert int(root.get("failures")) == sum(f is not None for f in cases.values()) > 0


def test_markdown_summary_has_a_row_per_exercise(mixed_report):
    text = writers.markdown(mixed_report)
    assert f"{mixed_report.score:g}/{MANIFEST.max_score:g}" in text
    for e in mixed_report.exercises:
        assert re.search(rf"^\| {e.name} \| {e.score:g}/{e.max_score:g} \| {e.status} \|", text, re.M)


def run(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_cli_writes_every_format_and_the_step_summary(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps\n")
    out = {k: tmp_path / f"r.{k}" for k in ("json", "gradescope", "junit")}
    result = run("grader.py", "loss", "--seed", "9", "--json", str(out["json"]), "--gradescope", str(out["gradescope"]),
                 "--junit", str(out["junit"]), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr
    report = json.loads(out["json"].read_text())
    assert json.loads(out["gradescope"].read_text())["score"] == report["score"] == 0
    assert ET.parse(out["junit"]).getroot().get("failures") == str(len(MANIFEST.get("loss").tests))
    assert summary.read_text().startswith(f"earlier steps\n### Grading: 0/{MANIFEST.get('loss').max_score} (seed 9)")


def test_private_tests_with_their_own_points(tmp_path):
    private = tmp_path / "private"
    shutil.copytree(os.path.join(ROOT, "tests", "grading"), private)
    text = open(os.path.join(ROOT, "manifest.toml")).read().replace("test_linear = 4", "test_linear = 40")
    (private / "manifest.toml").write_text(text)
    out = tmp_path / "r.json"
    result = run("grader.py", "forward", "--solutions", "--tests", str(private), "--seed", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["score"] == report["max_score"] == 46
    assert run("grader.py", "--tests", str(tmp_path / "nowhere")).returncode == 2


def test_batch_writes_a_gradebook_and_a_report_per_submission(tmp_path):
    shutil.copytree(SOLUTIONS, tmp_path / "in" / "alice")
    shutil.copytree(EXERCISES, tmp_path / "in" / "bob")
    build_submission(tmp_path / "in" / "carol", MIXED)
    result = run("grader.py", "--batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--seed", "4")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(tmp_path / "out" / "gradebook.csv")))
    assert [r["submission"] for r in rows] == ["alice", "bob", "carol"]
    assert list(rows[0]) == ["submission", *MANIFEST.names, "total", "max_score", "sandboxed"]
    assert [r["total"] for r in rows[:2]] == [f"{MANIFEST.max_score:g}", "0"]
    carol = json.loads((tmp_path / "out" / "carol.json").read_text())
    assert rows[2]["total"] == f"{carol['score']:g}" and 0 < carol["score"] < MANIFEST.max_score
    assert all(rows[2][e["name"]] == f"{e['score']:g}" for e in carol["exercises"])


def test_handout_has_no_solutions_and_its_workflow_grades_each_exercise(tmp_path):
    out = tmp_path / "handout"
    assert handout.main([str(out)]) == 0
    files = {os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs}
    assert not any(f.startswith(("solutions", os.path.join("tests", "kit"), "benchmarks")) for f in files)
    assert "## For instructors" not in (out / "README.md").read_text()
    pyproject = (out / "pyproject.toml").read_text()
    assert "tests/kit" not in pyproject and 'testpaths = ["tests/grading"]' in pyproject
    assert "[project]" in pyproject and '"kit"' in pyproject
    workflow = (out / ".github" / "workflows" / "classroom.yml").read_text()
    steps = re.findall(r"id: ([\w-]+)\n.*\n.*\n.*\n\s+command: (python -m kit.classroom (\S+) (\w+) (\w+))\n.*\n"
                       r"\s+max-score: ([\d.]+)", workflow)
    # one step per grading test, worth its points: partial credit as the grader gives it
    assert [(ex, test, float(points)) for _, _, _, ex, test, points in steps] == \
        [(e.name, t, float(p)) for e in MANIFEST.exercises for t, p in e.tests.items()]
    assert len({s[0] for s in steps}) == len(steps)
    assert f"runners: {','.join(s[0] for s in steps)}" in workflow
    for step in steps:  # ids GitHub accepts; the reporter finds each result under <ID>_RESULTS
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", step[0])
        assert f'{step[0].upper()}_RESULTS: "${{{{steps.{step[0]}.outputs.result}}}}"' in workflow
    grading = re.search(r"run: (python grader.py --require-sandbox --json (\S+))", workflow)
    assert grading and all(s[2] == grading.group(2) for s in steps)
    # as the steps run in a student's repository: the stubs earn nothing, and each step says why
    result = run(*grading.group(1).split()[1:], cwd=out)
    assert result.returncode == 0 and "not implemented yet" in result.stdout
    check = run("-m", "kit.classroom", *steps[0][1].split()[3:], cwd=out)
    assert check.returncode == 1 and "not implemented yet" in check.stdout, check.stdout
    assert handout.main([str(out)]) == 2  # never writes over a folder that has files
    # the copy is a pytest project: plain pytest grades the stubs, with the grader's seeds
    tests = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "loss",
                            "--seed", "3"], cwd=out, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 1 and "not implemented yet" in tests.stdout and "seed 3" in tests.stdout, tests.stdout
    assert re.search(r"(\d+) failed, (\d+) deselected", tests.stdout)


def test_a_classroom_step_passes_exactly_when_its_test_passed(tmp_path):
    from kit import classroom
    report = tmp_path / "grades.json"
    report.write_text(json.dumps({"exercises": [{"name": "sgd", "tests": [
        {"name": "test_plain", "status": "passed", "score": 3, "max_score": 3, "message": ""},
        {"name": "test_nesterov", "status": "failed", "score": 0, "max_score": 2, "message": "nesterov differs"}]}]}))
    assert classroom.check(str(report), "sgd", "test_plain") == (True, "sgd test_plain: 3/3")
    ok, line = classroom.check(str(report), "sgd", "test_nesterov")
    assert not ok and "0/2 -- nesterov differs" in line
    assert not classroom.check(str(report), "sgd", "test_maximize")[0]
    ok, line = classroom.check(str(tmp_path / "missing.json"), "sgd", "test_plain")
    assert not ok and "the grading step did not finish" in line


def test_handout_refuses_exercises_that_pass_tests(tmp_path, monkeypatch):
    monkeypatch.setattr(handout, "solved_tests", lambda manifest: ["forward.test_linear"])
    assert handout.main([str(tmp_path / "a")]) == 2 and not (tmp_path / "a").exists()
    assert handout.main([str(tmp_path / "b"), "--force"]) == 0


def test_gradescope_zip_runs_on_a_fake_autograder_layout(tmp_path):
    archive = tmp_path / "autograder.zip"
    assert gradescope.main([str(archive)]) == 0
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", "grader.py"} <= set(names)
        assert not any(n.startswith("solutions") for n in names)
        zf.extractall(tmp_path / "autograder" / "source")
    root = tmp_path / "autograder"
    run_autograder = root / "source" / "run_autograder"
    os.chmod(run_autograder, 0o755)
    build_submission(root / "submission" / "exercises", MIXED)  # uploaded as a folder
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable, "GRADER_SEED": "4"}
    subprocess.run([str(run_autograder)], env=env, capture_output=True, timeout=600, check=True)
    data = json.loads((root / "results" / "results.json").read_text())
    direct = run("grader.py", "--submission", str(root / "submission" / "exercises"), "--seed", "4",
                 "--json", str(tmp_path / "direct.json"))
    assert direct.returncode == 0
    expected = json.loads((tmp_path / "direct.json").read_text())
    assert data["score"] == expected["score"] < MANIFEST.max_score
    assert [t["score"] for t in data["tests"]] == [t["score"] for e in expected["exercises"] for t in e["tests"]]
    assert "seed 4" in data["output"]
