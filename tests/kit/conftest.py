"""Helpers for the kit's own tests: grade a folder in-process with one shared zygote.

`grade(folder, ...)` runs exactly what grader.py runs (kit.runner.grade) and returns the
Report. `submission(...)` builds a folder: the reference solutions, with snippets of
source appended to chosen modules (a later definition replaces an earlier one).
"""
import ast
import os
import shutil

import pytest

from kit import manifest as manifest_mod
from kit import runner
from kit.sandbox import Zygote
from kit.settings import resolve

ROOT = manifest_mod.ROOT
SOLUTIONS = os.path.join(ROOT, "solutions")
EXERCISES = os.path.join(ROOT, "exercises")
MANIFEST = manifest_mod.load()


@pytest.fixture(scope="session")
def zygote():
    z = Zygote()
    yield z
    z.close()


@pytest.fixture(scope="session")
def grade(zygote):
    def run(folder, exercises=None, seed=0, timeout=None):
        settings = resolve(MANIFEST.settings, seed, timeout, environ={})
        names = exercises or MANIFEST.names
        run = runner.GradingRun(folder, names, settings, MANIFEST)
        with run.open_sandbox(zygote=zygote):
            return runner.grade(run)
    return run


def build_submission(folder, snippets=()):
    """Copy the solutions to folder, then append each (module, source) snippet."""
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for module, source in snippets:
        with open(os.path.join(folder, f"{module}.py"), "a") as f:
            f.write("\n\n" + source.strip() + "\n")
    return str(folder)


@pytest.fixture
def submission(tmp_path):
    def build(snippets=None):
        return build_submission(tmp_path / "submission", (snippets or {}).items())
    return build


def scores(report):
    return {e.name: (e.score, e.max_score) for e in report.exercises}


def failed_tests(report):
    return {(e.name, t.name): t.message for e in report.exercises for t in e.tests if t.status != "passed"}


def defined_names(source):
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {ast.unparse(t) for t in node.targets}
    return names


def pack(entries, apart=lambda a, b: False):
    """Group snippets into as few folders as can hold them without interfering: no name
    defined twice in one module, and no two entries that `apart` says must be apart."""
    folders = []
    for e in entries:
        for folder in folders:
            if all(not apart(o, e) and not (o.module == e.module and defined_names(o.source) & defined_names(e.source))
                   for o in folder):
                folder.append(e)
                break
        else:
            folders.append([e])
    return folders
