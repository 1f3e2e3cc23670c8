"""Plain helpers for the kit's own tests (importable: `from kit_support import ...`).

The fixtures that use them (zygote, grade, submission) are in conftest.py.
"""
import ast
import os
import shutil

from kit import manifest as manifest_mod

ROOT = manifest_mod.ROOT
SOLUTIONS = os.path.join(ROOT, "solutions")
EXERCISES = os.path.join(ROOT, "exercises")
MANIFEST = manifest_mod.load()


def build_submission(folder, snippets=()):
    """Copy the solutions to folder, then append each (module, source) snippet."""
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for module, source in snippets:
        with open(os.path.join(folder, f"{module}.py"), "a") as f:
            f.write("\n\n" + source.strip() + "\n")
    return str(folder)


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
