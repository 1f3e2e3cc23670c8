"""python -m kit.handout OUT: write the student copy of the kit into OUT.

The copy has the stubs, the grader and its grading tests, and a GitHub Classroom workflow
(.github/workflows/classroom.yml, kit/classroom.py) with one step per grading test worth its points. It has no
solutions/, no tests/kit/ and no benchmarks/ (those grade the reference solutions). In the
copy, `pytest` grades exercises/. It refuses to write a copy whose exercises/ passes any
grading test (a filled-in stub would hand out its answer) unless --force.
"""
import argparse
import os
import shutil
import sys

from . import classroom
from . import manifest as manifest_mod

ROOT = manifest_mod.ROOT
COPIED = ["exercises", "kit", os.path.join("tests", "grading"), "grader.py", "manifest.toml", ".gitignore",
          "conftest.py"]
STUDENT_PYTEST = """[tool.pytest.ini_options]
# `pytest` grades your exercises (conftest.py registers the kit's plugin): the same tests,
# points and seeds as `python grader.py`. pytest -m conv2d, -k test_basic, -x and --lf work.
testpaths = ["tests/grading"]
timeout = 300
"""
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def student_readme(text):
    """The README's sections for students: everything before the instructors' section."""
    return text.split("\n## For instructors")[0].rstrip() + "\n"


def student_pyproject(text):
    """The kit's own test settings point at tests/kit, which a handout does not have: that
    section (up to the next one) becomes one that grades the exercises."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            dropping = line.strip() == "[tool.pytest.ini_options]"
        if not dropping:
            kept.append(line)
    return "".join(kept).rstrip() + "\n\n" + STUDENT_PYTEST


def solved_tests(manifest):
    """Grading tests that exercises/ passes: none, unless someone filled a stub in."""
    from .runner import GradingRun, grade
    from .settings import resolve
    settings = resolve(manifest.settings, 1, None, environ={})
    report = grade(GradingRun(os.path.join(ROOT, "exercises"), manifest.names, settings, manifest))
    return [f"{e.name}.{t.name}" for e in report.exercises for t in e.tests if t.status == "passed"]


def build(out, manifest=None):
    manifest = manifest or manifest_mod.load()
    for item in COPIED:
        source, dest = os.path.join(ROOT, item), os.path.join(out, item)
        if os.path.isdir(source):
            shutil.copytree(source, dest, ignore=IGNORED)
        else:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(source, dest)
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = student_readme(f.read())
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(readme)
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        pyproject = student_pyproject(f.read())
    with open(os.path.join(out, "pyproject.toml"), "w") as f:
        f.write(pyproject)
    workflows = os.path.join(out, ".github", "workflows")
    os.makedirs(workflows)
    with open(os.path.join(workflows, "classroom.yml"), "w") as f:
        f.write(classroom.workflow(manifest))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m kit.handout", description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="a folder that does not exist yet, or is empty")
    p.add_argument("--force", action="store_true", help="write it even if exercises/ passes some tests")
    args = p.parse_args(argv)
    if os.path.exists(args.out) and os.listdir(args.out):
        print(f"kit.handout: error: {args.out} is not empty", file=sys.stderr)
        return 2
    if not args.force:
        solved = solved_tests(manifest_mod.load())
        if solved:  # a filled-in exercise would hand out answers
            print(f"kit.handout: error: exercises/ is not the unsolved stubs: it passes {', '.join(solved)}. "
                  "Restore the stubs (git checkout exercises/), or pass --force", file=sys.stderr)
            return 2
    build(args.out)
    print(f"Wrote the student copy to {args.out} (no solutions; GitHub Classroom workflow included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
