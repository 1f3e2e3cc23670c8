"""Report writers: the terminal report students read, and the JSON file CI records."""
import json
import os
import shlex
import textwrap

STATUS = {"passed": "pass", "failed": "FAIL", "not implemented": "todo"}


def rerun_command(report, exercise=None, extra=""):
    parts = ["python grader.py"]
    if exercise:
        parts.append(exercise)
    parts.append(f"--seed {report.seed}")
    if extra:
        parts.append(extra)
    return " ".join(parts)


def target_flag(target, root):
    """The --solutions / --submission words that select `target` again."""
    target = os.path.realpath(target)
    if target == os.path.realpath(os.path.join(root, "exercises")):
        return ""
    if target == os.path.realpath(os.path.join(root, "solutions")):
        return "--solutions"
    return f"--submission {shlex.quote(os.path.relpath(target))}"


def terminal(report, manifest, root, width=100):
    flag = target_flag(report.target, root)
    lines = [f"Grading {os.path.relpath(report.target)}   seed {report.seed}   "
             f"timeout {report.timeout:g} s per call", ""]
    if report.crash:
        lines += [f"!! {report.crash}", ""]
    name_width = max(len(e.name) for e in report.exercises)
    for ex in report.exercises:
        lines.append(f"  [{STATUS[ex.status]}] {ex.name:<{name_width}}  {_pts(ex.score):>3}/{_pts(ex.max_score):<3}")
        first = ex.first_failure
        if first is not None:
            text = f"{first.name}: {first.message}"
            lines += textwrap.wrap(text, width=width, initial_indent=" " * 9, subsequent_indent=" " * 11)
    lines += ["", f"Total: {_pts(report.score)}/{_pts(report.max_score)}"]
    pending = [e for e in report.exercises if e.status != "passed"]
    if pending:
        lines.append(f"Next: {pending[0].name} ({manifest.get(pending[0].name).title}). "
                     f"Rerun just it: {rerun_command(report, pending[0].name, extra=flag)}")
    lines.append(f"Reproduce this run: {rerun_command(report, extra=flag)}")
    return "\n".join(lines)


def _pts(x):
    return f"{x:g}"


def write_json(report, path):
    with open(path, "w") as f:
        json.dump(report.to_dict(), f, indent=2)
        f.write("\n")
