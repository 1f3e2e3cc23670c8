"""python -m kit.handout OUT: write the student copy of the kit into OUT.

The copy has the stubs, the grader and its grading tests, and a GitHub Classroom workflow
(.github/workflows/classroom.yml) with one step per exercise worth its points. It has no
solutions/, no tests/kit/ and no benchmarks/ (those grade the reference solutions). In the
copy, `pytest` grades exercises/. It refuses to write a copy whose exercises/ passes any
grading test (a filled-in stub would hand out its answer) unless --force.
"""
import argparse
import os
import shutil
import sys

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


def classroom_workflow(manifest):
    """GitHub Classroom autograding: each step passes when its exercise earns every point."""
    steps = []
    for ex in manifest.exercises:
        steps.append(f"""      - name: {ex.name}
        id: {ex.name}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {ex.name}
          command: python grader.py {ex.name} --fail-under 100 --require-sandbox
          timeout: 10
          max-score: {ex.max_score:g}""")
    env = "\n".join(f"          {ex.name.upper()}_RESULTS: \"${{{{steps.{ex.name}.outputs.result}}}}\""
                    for ex in manifest.exercises)
    return f"""# Written by `python -m kit.handout` from manifest.toml: change the manifest, not this file.
name: Autograding Tests
"on":
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install (the CPU build of torch is all the grader needs)
        run: |
          python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
          python -m pip install -e .
      - name: Let the grader's sandbox use user namespaces (Ubuntu 24.04 restricts them)
        run: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
{chr(10).join(steps)}
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {",".join(ex.name for ex in manifest.exercises)}
"""


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
    from .runner import grade
    from .settings import resolve
    settings = resolve(manifest.settings, 1, None, environ={})
    report = grade(os.path.join(ROOT, "exercises"), manifest.names, settings, manifest=manifest)
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
        f.write(classroom_workflow(manifest))


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
