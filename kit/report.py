"""Report writers: the terminal report students read, and what CI records: the JSON report,
Gradescope's results.json, JUnit XML and a markdown table for GitHub's job summary.
Each reads only a results.Report, so they all agree."""
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
            lines += textwrap.wrap(text, width=width, initial_indent=" " * 9, subsequent_indent=" " * 11,
                                   break_long_words=False, break_on_hyphens=False)  # keep commands copyable
    lines += ["", f"Total: {_pts(report.score)}/{_pts(report.max_score)}"]
    done = sum(e.status == "passed" for e in report.exercises)
    lines.append(f"Progress: {done} of {len(report.exercises)} exercises done "
                 f"[{''.join('#' if e.status == 'passed' else '-' for e in report.exercises)}]")
    pending = [e for e in report.exercises if e.status != "passed"]
    if pending:
        lines.append(f"Next: {pending[0].name} ({manifest.get(pending[0].name).title}). "
                     f"Rerun just it: {rerun_command(report, pending[0].name, extra=flag)}   "
                     f"Stuck? python grader.py --hint {pending[0].name}")
    lines.append(f"Reproduce this run: {rerun_command(report, extra=flag)}")
    return "\n".join(lines)


def _pts(x):
    return f"{x:g}"


def write_json(report, path):
    with open(path, "w") as f:
        json.dump(report.to_dict(), f, indent=2)
        f.write("\n")


def write_gradescope(report, path, summary):
    """Gradescope's results.json: one test per manifest test, totals equal to the report's."""
    tests = []
    for i, ex in enumerate(report.exercises, 1):
        for j, t in enumerate(ex.tests, 1):
            tests.append({"name": f"{ex.name}: {t.name}", "number": f"{i}.{j}", "score": t.score,
                          "max_score": t.max_score, "status": t.status, "output": t.message,
                          "visibility": "visible"})
    data = {"score": report.score, "output": summary, "output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def write_junit(report, path):
    """JUnit XML: a testsuite per exercise, a testcase per manifest test, failures with their message."""
    from xml.etree import ElementTree as ET
    failures = sum(t.status != "passed" for e in report.exercises for t in e.tests)
    root = ET.Element("testsuites", name="grader", tests=str(sum(len(e.tests) for e in report.exercises)),
                      failures=str(failures))
    for ex in report.exercises:
        suite = ET.SubElement(root, "testsuite", name=ex.name, tests=str(len(ex.tests)),
                              failures=str(sum(t.status != "passed" for t in ex.tests)))
        props = ET.SubElement(suite, "properties")
        for key, value in (("score", ex.score), ("max_score", ex.max_score), ("seed", report.seed)):
            ET.SubElement(props, "property", name=key, value=f"{value:g}")
        for t in ex.tests:
            case = ET.SubElement(suite, "testcase", classname=ex.name, name=t.name)
            if t.status != "passed":
                ET.SubElement(case, "failure", message=t.message[:500]).text = t.message
    ET.ElementTree(root).write(path, encoding="unicode", xml_declaration=True)


def markdown(report):
    """A table for GitHub's job summary."""
    lines = [f"### Grading: {_pts(report.score)}/{_pts(report.max_score)} (seed {report.seed})", "",
             "| exercise | points | status | first failure |", "|---|---|---|---|"]
    for ex in report.exercises:
        first = ex.first_failure
        detail = f"`{first.name}`: {first.message}" if first else ""
        detail = detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {ex.name} | {_pts(ex.score)}/{_pts(ex.max_score)} | {ex.status} | {detail} |")
    return "\n".join(lines) + "\n"
