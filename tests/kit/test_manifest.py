"""The manifest, the stubs, the solutions and the grading tests agree (one task ID everywhere)."""
import ast
import os
import re

import pytest

from kit_support import EXERCISES, MANIFEST, ROOT, SOLUTIONS

GRADING = os.path.join(ROOT, "tests", "grading")


def grading_tests(exercise):
    """(marker, test function names) of tests/grading/test_<exercise>.py, read without running it."""
    tree = ast.parse(open(os.path.join(GRADING, f"test_{exercise}.py")).read())
    marker = next(ast.unparse(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and ast.unparse(n.targets[0]) == "pytestmark")
    return marker, [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


@pytest.mark.parametrize("exercise", MANIFEST.names)
def test_every_manifest_test_exists_and_every_test_is_in_the_manifest(exercise):
    marker, tests = grading_tests(exercise)
    assert marker == f"pytest.mark.exercise('{exercise}')"
    assert tests == list(MANIFEST.get(exercise).tests)


def test_no_grading_module_is_left_out():
    modules = sorted(f[5:-3] for f in os.listdir(GRADING) if f.startswith("test_") and f.endswith(".py"))
    assert modules == sorted(MANIFEST.names)


@pytest.mark.parametrize("exercise", MANIFEST.names)
def test_every_exercise_has_points_hints_stub_and_solution(exercise):
    ex = MANIFEST.get(exercise)
    assert ex.max_score > 0 and all(p > 0 for p in ex.tests.values())
    assert len(ex.hints) >= 2 and ex.title
    for module in ex.modules:
        assert os.path.exists(os.path.join(EXERCISES, f"{module}.py"))
        assert os.path.exists(os.path.join(SOLUTIONS, f"{module}.py"))


def test_the_total_is_what_the_manifest_adds_up_to():
    import tomllib
    with open(MANIFEST.path, "rb") as f:
        data = tomllib.load(f)
    assert MANIFEST.max_score == sum(sum(e["tests"].values()) for e in data["exercise"]) > 0


def test_the_readme_shows_the_tables_the_manifest_generates():
    """The student table (names, files, points) and the rules table are python -m kit.manifest --tables."""
    from kit.manifest import exercise_table, rules_table
    readme = open(os.path.join(ROOT, "README.md")).read()
    for table in (exercise_table(MANIFEST), rules_table(MANIFEST)):
        assert table in readme, "README.md is out of date: paste in the output of python -m kit.manifest --tables"


@pytest.mark.parametrize("change, error", [
    (lambda t: t.replace("format = 1\n", ""), "format = 1 expected"),
    (lambda t: t.replace('forbid = ["layers"]', 'forbid = ["layer"]'), "forbids ['layer'], which no worker enforces"),
    (lambda t: t.replace('name = "forward"\n', 'name = "forward"\npoints = 3\n'), "unknown field(s) ['points']"),
    (lambda t: t.replace("timeout = 10", "timout = 10"), "unknown key(s) ['settings.timout']"),
    (lambda t: t.replace("test_linear = 4", "test_linear = 0"), "every test needs positive points"),
])
def test_a_manifest_that_says_something_unmeant_is_refused(tmp_path, change, error):
    from kit.manifest import ManifestError, load
    text = open(MANIFEST.path).read()
    assert change(text) != text
    (tmp_path / "manifest.toml").write_text(change(text))
    with pytest.raises(ManifestError) as raised:
        load(str(tmp_path / "manifest.toml"))
    assert error in str(raised.value)


@pytest.mark.parametrize("module", sorted(f[:-3] for f in os.listdir(EXERCISES) if f.endswith(".py")))
def test_stub_todos_and_errors_name_their_exercise(module):
    source = open(os.path.join(EXERCISES, f"{module}.py")).read()
    todos = re.findall(r"TODO\((\w+)\)", source)
    raised = re.findall(r'NotImplementedError\("(\w+): ', source)
    assert todos and raised
    assert set(todos) <= set(MANIFEST.names) and set(raised) <= set(MANIFEST.names)
    assert set(raised) <= set(todos)
    for name in set(todos):
        assert module in MANIFEST.get(name).modules, f"{name}'s manifest entry should list {module}.py"


def test_stubs_and_solutions_define_the_same_names():
    def names(path):
        tree = ast.parse(open(path).read())
        return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}
    for f in sorted(os.listdir(EXERCISES)):
        if f.endswith(".py"):
            assert names(os.path.join(EXERCISES, f)) == names(os.path.join(SOLUTIONS, f)), f


def test_every_forbid_names_a_rule_the_worker_enforces():
    from kit.worker.guards import RULES
    from kit.messages import FORBIDDEN, RULE_SUMMARY
    from kit.worker import contract
    assert RULES == set(contract.RULES)
    for ex in MANIFEST.exercises:
        assert set(ex.forbid) <= RULES, (ex.name, set(ex.forbid) - RULES)
    assert RULES <= set(FORBIDDEN) and RULES == set(RULE_SUMMARY)  # and each has its messages
