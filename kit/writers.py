"""Report writers: the terminal report students read, and what CI records: the JSON report,
Gradescope's results.json, JUnit XML and a markdown table for GitHub's job summary.
Each reads only a results.Report, so they all agree.

Student code chooses the text of its exceptions and reprs, and that text reaches
TestResult.message and Report.crash (and, in --batch, folder names reach the gradebook).
It may hold escape sequences that redraw or recolour a terminal, a \r or a newline and a
fake "Total: 100/100", NULs and lone surrogates that break JSON and XML, '|' and HTML that
break a markdown table. So every writer passes such text through the one function for its
kind of output: plain_text (terminal), data_text / json_safe (JSON, XML),
markdown_text (job summary), csv_cell (gradebook).

Every file is written with write_atomic: a reader sees the previous file or the new one,
never half of one. The job summary, which earlier steps also write, is appended to in one
write by append_summary.
"""
import contextlib
import json
import os
import re
import stat
import tempfile
import textwrap
import unicodedata

from . import messages as M

STATUS = {"passed": "pass", "failed": "FAIL", "not implemented": "todo"}


# -- student text, made safe for each kind of output ----------------------------------------

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# what a terminal could act on, or a reader could not see: controls (C0, DEL, C1), format
# characters (bidi overrides, zero-width), surrogates, private use, unassigned, line/paragraph separators
_UNSEEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# (this includes all that XML 1.0 forbids: C0 controls, lone surrogates, U+FFFE and U+FFFF)
_NOT_PLAIN = re.compile(r"[^\t\x20-\x7e]")  # candidates only: most non-ASCII text is fine
_MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")  # every ASCII punctuation mark
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet takes for a formula


def _escape(ch):
    if ch in _NAMED:
        return _NAMED[ch]
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def _shown(text, keep=""):
    return _NOT_PLAIN.sub(lambda m: m[0] if m[0] in keep or unicodedata.category(m[0]) not in _UNSEEN
                          else _escape(m[0]), str(text))


def plain_text(text) -> str:
    """For the terminal: one line, every control or invisible character shown escaped
    (ESC as \\x1b, CR as \\r, a newline as \\n, U+202E as \\u202e), so student text cannot
    move the cursor, recolour or reorder the report, or start a line of its own. A tab stays.
    Runs of blanks become one: padding cannot steer where the report's wrapping breaks lines."""
    return re.sub(r"[ \t]{2,}", " ", _shown(text))


def data_text(text) -> str:
    """For JSON and XML: the same, but newlines kept (they are data there, escaped by the
    format). The file then always parses, in any parser, holds nothing XML 1.0 forbids and
    no raw control bytes, and a browser showing it cannot be made to reorder it."""
    return _shown(text, keep="\n")


def json_safe(value):
    """value with data_text applied to every string in it, keys included."""
    if isinstance(value, str):
        return data_text(value)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def markdown_text(text) -> str:
    """For a cell of the job summary's table: plain_text, then every ASCII punctuation mark
    backslash-escaped, so '|' cannot end the cell and no markdown, HTML, entity or math runs."""
    return _MARKDOWN_PUNCTUATION.sub(lambda m: "\\" + m[0], plain_text(text))


def csv_cell(text) -> str:
    """For the gradebook: plain_text (one row per submission), and never the start of a formula."""
    text = plain_text(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


# -- files ------------------------------------------------------------------------------------

def _umask():
    try:  # read it without setting it: other threads may be creating files
        with open("/proc/self/status") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return 0o022


def write_atomic(path, text: str) -> None:
    """Replace the file at path with text, all at once: a temporary file in the same
    directory, flushed and fsynced, then os.replace. A reader never sees half a report, and
    a crash part-way leaves the previous file (or none)."""
    data = text.encode("utf-8", "backslashreplace")  # writers pass safe text; never fail here
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    target = os.path.realpath(path)  # through a symlink, as open() would
    if (st is not None and not stat.S_ISREG(st.st_mode)) or any(  # a pipe, /dev/stdout: write to it
            p.startswith(("/dev/", "/proc/")) for p in (os.path.abspath(path), target)):
        with open(path, "wb") as f:
            f.write(data)
        return
    directory = os.path.dirname(target)
    # a short name of its own: the target's name may already be as long as a name can be
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".report-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode) if st else 0o666 & ~_umask())
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def dump_json(data, path) -> None:
    """data as JSON at path (atomically), every string passed through data_text."""
    write_atomic(path, json.dumps(json_safe(data), indent=2) + "\n")


def append_summary(report, path=None) -> bool:
    """Append the markdown table to GitHub's job summary (path, default $GITHUB_STEP_SUMMARY).

    That file gathers every step's output, so it is appended to, not replaced: the whole
    chunk in one write. Returns False when there is no summary file to write.
    """
    path = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    data = markdown(report).encode("utf-8", "backslashreplace")
    with contextlib.suppress(OSError):  # start on a line of our own if the last step left one open
        with open(path, "rb") as f:
            if f.seek(0, os.SEEK_END) and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                data = b"\n" + data
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        written = os.write(fd, data)
        while written < len(data):  # a regular file takes it all at once; this is only in case
            written += os.write(fd, data[written:])
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
    return True


# -- the writers ------------------------------------------------------------------------------


def terminal(report, manifest, width=100):
    lines = [f"Grading {plain_text(os.path.relpath(report.target))}   seed {report.seed}   "
             f"timeout {report.timeout:g} s per call"]
    if report.sandbox_note:
        lines.append(f"!! {plain_text(M.PRACTICE_NOTICE.format(note=report.sandbox_note))}")
    lines.append("")
    if report.crash:
        lines += [f"!! {plain_text(report.crash)}", ""]
    name_width = max(len(e.name) for e in report.exercises)
    for ex in report.exercises:
        lines.append(f"  [{STATUS[ex.status]}] {ex.name:<{name_width}}  {_pts(ex.score):>3}/{_pts(ex.max_score):<3}")
        # every failing test of an exercise under way (a stub's tests all say the same: one is enough)
        failing = [t for t in ex.tests if t.status != "passed"]
        for k, test in enumerate(failing if ex.status == "failed" else failing[:1]):
            # the first in full, with its case and rerun command; the others one line each
            message = plain_text(test.message) if k == 0 else _short(plain_text(test.summary))
            text = f"{test.name} ({_pts(test.score)}/{_pts(test.max_score)}): {message}"
            lines += textwrap.wrap(text, width=width, initial_indent=" " * 9, subsequent_indent=" " * 11,
                                   break_long_words=False, break_on_hyphens=False)  # keep commands copyable
    if report.case and not report.crash:  # one case is no grade: say what ran, how to grade the exercise
        whole = report.rerun(report.exercises[0].name if report.exercises else None)
        lines += ["", f"Only {plain_text(report.case)} ran (points shown are its test's, if all its cases ran). "
                      f"Grade the whole exercise: {plain_text(whole)}"]
        return "\n".join(lines)
    lines += ["", f"Total: {_pts(report.score)}/{_pts(report.max_score)}"]
    done = sum(e.status == "passed" for e in report.exercises)
    lines.append(f"Progress: {done} of {len(report.exercises)} exercises done "
                 f"[{''.join('#' if e.status == 'passed' else '-' for e in report.exercises)}]")
    pending = [e for e in report.exercises if e.status != "passed"]
    if pending:
        lines.append(f"Next: {pending[0].name} ({manifest.get(pending[0].name).title}). "
                     f"Rerun just it: {plain_text(report.rerun(pending[0].name))}   "
                     f"Stuck? python grader.py --hint {pending[0].name}")
    graded = [e.name for e in report.exercises]
    subset = " ".join(graded) if graded != list(manifest.names) else None  # a run of some exercises: the same ones
    lines.append(f"Reproduce this run: {plain_text(report.rerun(subset))}")
    return "\n".join(lines)


def _short(summary, width=80):
    return summary if len(summary) <= width else summary[:width - 3].rstrip() + "..."


def _pts(x):
    return f"{x:g}"


def write_json(report, path):
    dump_json(report.to_dict(), path)


def write_gradescope(report, path, summary):
    """Gradescope's results.json: one test per manifest test, totals equal to the report's."""
    tests = []
    for i, ex in enumerate(report.exercises, 1):
        for j, t in enumerate(ex.tests, 1):
            tests.append({"name": f"{ex.name}: {t.name}", "number": f"{i}.{j}", "score": t.score,
                          "max_score": t.max_score, "status": t.status, "output": t.message,
                          "visibility": "visible"})
    notice = plain_text(M.PRACTICE_NOTICE.format(note=report.sandbox_note))
    if report.sandbox_note and notice not in summary:  # the terminal text has it already
        summary = f"!! {notice}\n\n{summary}"
    data = {"score": report.score, "output": summary, "output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}
    dump_json(data, path)


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
        ET.SubElement(props, "property", name="sandboxed", value=str(not report.sandbox_note).lower())
        if report.sandbox_note:
            ET.SubElement(props, "property", name="sandbox_note", value=data_text(report.sandbox_note))
        for t in ex.tests:
            case = ET.SubElement(suite, "testcase", classname=ex.name, name=t.name)
            if t.status != "passed":
                message = data_text(t.message)  # ElementTree escapes <&>, not what XML 1.0 forbids
                ET.SubElement(case, "failure", message=message[:500]).text = message
    write_atomic(path, "<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n")


def markdown(report):
    """A table for GitHub's job summary."""
    lines = [f"### Grading: {_pts(report.score)}/{_pts(report.max_score)} (seed {report.seed})", ""]
    if report.sandbox_note:
        lines += [f"**{markdown_text(M.PRACTICE_NOTICE.format(note=report.sandbox_note))}**", ""]
    lines += ["| exercise | points | status | first failure |", "|---|---|---|---|"]
    for ex in report.exercises:
        first = ex.first_failure
        detail = f"`{first.name}`: {markdown_text(first.message)}" if first else ""
        lines.append(f"| {ex.name} | {_pts(ex.score)}/{_pts(ex.max_score)} | {ex.status} | {detail} |")
    return "\n".join(lines) + "\n"
