"""GitHub Classroom: the workflow kit.handout writes, and the check each of its steps runs.

Classroom gives a step its max-score when the step's command exits 0, else nothing. So the
workflow grades once (one sandbox, one seed: python grader.py --json) and then has one step
per grading test, worth that test's points, whose command asks the JSON report whether the
test passed: a student with 12 of 14 points in an exercise gets 12 there, as the grader says.

    python -m kit.classroom REPORT.json EXERCISE TEST    exit 0 if TEST passed, else 1 (and why)
"""
from __future__ import annotations

import json
import sys

from .manifest import Manifest

REPORT = "grades.json"  # where the workflow's grading step writes the report


def step_id(exercise: str, test: str) -> str:
    return f"{exercise}-{test}".replace("_", "-")


def workflow(manifest: Manifest) -> str:
    steps, ids = [], []
    for ex in manifest.exercises:
        for test, points in ex.tests.items():
            ids.append(step_id(ex.name, test))
            steps.append(f"""      - name: {ex.name} {test}
        id: {ids[-1]}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {ex.name} {test}
          command: python -m kit.classroom {REPORT} {ex.name} {test}
          timeout: 1
          max-score: {points:g}""")
    # the reporter reads each runner's result from <ID in capitals>_RESULTS, hyphens kept
    env = "\n".join(f"          {i.upper()}_RESULTS: \"${{{{steps.{i}.outputs.result}}}}\"" for i in ids)
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
      - name: Grade (once; the steps below read its report)
        run: python grader.py --require-sandbox --json {REPORT}
        timeout-minutes: 15
{chr(10).join(steps)}
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {",".join(ids)}
"""


def check(report_path: str, exercise: str, test: str) -> tuple[bool, str]:
    """Did `test` of `exercise` pass in the JSON report? And the line to print."""
    try:
        with open(report_path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        return False, f"no grading report ({report_path}: {e}): the grading step did not finish"
    for ex in report.get("exercises", ()):
        if ex.get("name") == exercise:
            for t in ex.get("tests", ()):
                if t.get("name") == test:
                    ok = t.get("status") == "passed"
                    return ok, (f"{exercise} {test}: {t.get('score', 0):g}/{t.get('max_score', 0):g}"
                                + ("" if ok else f" -- {t.get('message', '')}"))
    return False, f"{exercise} {test} is not in {report_path}"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    ok, line = check(*argv)
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
