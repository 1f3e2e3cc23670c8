"""Trusted grades: student text cannot forge or break any report, every report file is
written atomically, --batch survives a submission that kills its lane or never ends, and
a run outside the OS sandbox says so in every output.

Reports are built directly (results.build with a small manifest) and batch grading uses a
fake grading function, so these tests need no worker, no sandbox and no torch.
"""
import csv
import json
import os
import re
import signal
import time
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import pytest

from kit import batch, results
from kit import messages as M
from kit import writers
from kit.settings import Settings

# What student code can put in an exception message: a screen clear, a window title, a
# carriage return that overwrites the line with a fake pass, fake report lines after
# newlines, NUL, a lone surrogate, a vertical tab, C1 CSI, a line separator, and what breaks
# markdown tables, HTML and XML.
HOSTILE = ("boom\x1b[2J\x1b[1;1H\x1b]0;pwned\x07\r  [pass] conv2d      14/14\n"
           "Total: 100/100\n### Grading: 100/100\n| conv2d | 14/14 | passed | |\x00\ud800\x0b\x0c"
           "<script>alert(1)</script>]]>&amp;`code` **100/100**\x7f\x9b31m\u2028Total: 100/100\u202e")
RAW = ["\x1b", "\r", "\x07", "\x00", "\x0b", "\x0c", "\x7f", "\x9b", "\u2028", "\u202e", "\ud800"]
NOTE = "practice mode: not sandboxed (user namespaces are not available)"

EXERCISES = {"conv2d": ("2-D convolution", {"test_basic": 10, "test_stride": 4}),
             "loss": ("Losses", {"test_mse": 3, "test_cross_entropy": 3})}


class Manifest:
    names = list(EXERCISES)

    def get(self, name):
        title, tests = EXERCISES[name]
        return SimpleNamespace(name=name, title=title, tests=tests)


MANIFEST = Manifest()
SETTINGS = Settings(seed=4, timeout=1.0, seed_source="--seed", timeout_source="--timeout")


def make_report(message=HOSTILE, crash="", sandbox_note="", target="submission", passing=("loss",)):
    outcomes = {}
    for name in MANIFEST.names:
        for test in MANIFEST.get(name).tests:
            ok = name in passing
            outcomes[(name, test)] = [None if ok else results.Failure(results.Reason.WRONG_VALUES, message)]
    return results.build(MANIFEST, MANIFEST.names, outcomes, 4, 1.0, target, crash=crash,
                         sandbox_note=sandbox_note)


def no_raw(text):
    return [c for c in RAW if c in text]


# -- terminal -------------------------------------------------------------------------------

KIT_LINE = re.compile(r"^(Grading |!! |Total: |Progress: |Next: |Reproduce this run: |  \[(pass|FAIL|todo)\] | {9}\S| {11}\S|$)")


def test_terminal_shows_student_text_escaped_and_on_its_own_lines_only(tmp_path):
    report = make_report(crash=HOSTILE, target=str(tmp_path / "evil\x1b[31m\nTotal: 100\r"))
    text = writers.terminal(report, MANIFEST)
    assert no_raw(text) == []
    text.encode("utf-8")  # printable: no lone surrogate left to crash print()
    assert "\\x1b[2J" in text and "\\r" in text and "\\n" in text and "\\ud800" in text
    lines = text.split("\n")
    assert [line for line in lines if not KIT_LINE.match(line)] == []
    assert [line for line in lines if line.startswith("Total:")] == ["Total: 6/20"]
    assert [line for line in lines if line.startswith("  [")] == [
        "  [FAIL] conv2d    0/14 ", "  [pass] loss      6/6  "]


def test_terminal_keeps_an_ordinary_message_as_it_was(tmp_path):
    text = writers.terminal(make_report("expected 1.5, got 2\tat index (0, 1) -- ok é 中"), MANIFEST)
    flowed = " ".join(text.split())  # textwrap wraps the line and turns the tab into a space
    assert "test_basic (0/10): expected 1.5, got 2 at index (0, 1) -- ok é 中" in flowed


# -- JSON -----------------------------------------------------------------------------------

def assert_clean_json(path):
    raw = path.read_bytes()
    assert not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", raw)  # indentation newlines only
    data = json.loads(raw.decode("utf-8"))
    dumped = json.dumps(data, ensure_ascii=False)
    dumped.encode("utf-8")  # no lone surrogate came back
    assert no_raw(dumped) == []
    return data


def test_json_report_parses_back_without_raw_control_characters(tmp_path):
    path = tmp_path / "r.json"
    writers.write_json(make_report(crash=HOSTILE), path)
    data = assert_clean_json(path)
    message = data["exercises"][0]["tests"][0]["message"]
    assert message.startswith("boom\\x1b[2J") and "\\ud800" in message and "<script>" in message
    assert "\nTotal: 100/100\n" in message  # data, not layout: newlines are kept, and escaped by JSON
    assert data["error"].startswith("boom\\x1b")
    assert data["score"] == 6


def test_gradescope_results_parse_back_without_raw_control_characters(tmp_path):
    report = make_report()
    path = tmp_path / "results.json"
    writers.write_gradescope(report, path, writers.terminal(report, MANIFEST) + "\x1b\ud800")
    data = assert_clean_json(path)
    assert data["score"] == 6 and data["tests"][0]["output"].startswith("boom\\x1b[2J")
    assert data["output"].endswith("\\x1b\\ud800")


# -- JUnit ----------------------------------------------------------------------------------

XML_CHAR = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")


def test_junit_is_well_formed_xml_1_0(tmp_path):
    path = tmp_path / "junit.xml"
    writers.write_junit(make_report(), path)
    text = path.read_bytes().decode("utf-8")
    assert XML_CHAR.match(text)  # nothing XML 1.0 forbids, even as an entity
    assert "&#" not in text.replace("&#10;", "").replace("&#09;", "")
    assert "<script>" not in text and "]]>" not in text
    root = ET.parse(path).getroot()
    failure = next(root.iter("failure"))
    assert failure.text.startswith("boom\\x1b[2J") and "<script>alert(1)</script>]]>" in failure.text
    assert failure.get("message").startswith("boom\\x1b[2J")
    assert no_raw(failure.text) == []


# -- the job summary ------------------------------------------------------------------------

def cells(row):
    return re.sub(r"\\.", "", row).count("|")  # pipes not backslash-escaped


def test_markdown_table_cannot_be_broken_or_faked():
    text = writers.markdown(make_report())
    assert no_raw(text) == []
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "### Grading: 6/20 (seed 4)" and [l for l in lines if l.startswith("#")] == lines[:1]
    table = lines[lines.index("| exercise | points | status | first failure |"):]
    assert len(table) == 2 + len(MANIFEST.names)
    assert all(cells(row) == 5 for row in table)
    assert table[2].startswith("| conv2d | 0/14 | failed | `test_basic`: boom\\\\x1b\\[2J")
    student = re.sub(r"\\.", "", table[2].split("`test_basic`: ")[1])  # what is not backslash-escaped
    assert re.fullmatch(r"[\w ]+\|", student)  # no markup, HTML, entity or cell break of its own


def test_append_summary_appends_the_whole_chunk_in_one_write(tmp_path, monkeypatch):
    path = tmp_path / "summary.md"
    path.write_text("earlier steps")  # its last line left open
    writes = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(data) or real_write(fd, data))
    assert writers.append_summary(make_report(), str(path))
    assert len(writes) == 1
    assert path.read_text() == "earlier steps\n" + writers.markdown(make_report())
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert writers.append_summary(make_report()) is False


# -- atomic writes --------------------------------------------------------------------------

def write_everything(report, folder):
    """Each writer once; returns the paths they wrote."""
    paths = {k: folder / f"r.{k}" for k in ("json", "gradescope", "junit", "csv")}
    writers.write_json(report, paths["json"])
    writers.write_gradescope(report, paths["gradescope"], "summary")
    writers.write_junit(report, paths["junit"])
    writers.write_atomic(paths["csv"], "a,b\r\n")
    return paths


@pytest.mark.parametrize("kind", ["json", "gradescope", "junit", "csv"])
def test_a_write_that_fails_midway_leaves_the_previous_file(tmp_path, monkeypatch, kind):
    paths = write_everything(make_report(), tmp_path)
    before = paths[kind].read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", broken_fsync)  # after the new text is written, before it is in place
    other = make_report(passing=())
    write = {"json": lambda: writers.write_json(other, paths["json"]),
             "gradescope": lambda: writers.write_gradescope(other, paths["gradescope"], "x"),
             "junit": lambda: writers.write_junit(other, paths["junit"]),
             "csv": lambda: writers.write_atomic(paths["csv"], "c,d\r\n")}[kind]
    with pytest.raises(OSError, match="disk full"):
        write()
    assert paths[kind].read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths.values())  # no temporary file left


def test_an_encoder_that_raises_leaves_the_previous_json_report(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    writers.write_json(make_report(), path)
    before = path.read_text()
    report = make_report(passing=())
    monkeypatch.setattr(type(report), "to_dict", lambda self: {"score": 0, "exercises": [object()]})
    with pytest.raises(TypeError):
        writers.write_json(report, path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["r.json"]


def test_atomic_write_keeps_the_mode_and_writes_through_to_devices(tmp_path, capfd):
    path = tmp_path / "r.json"
    path.write_text("old")
    os.chmod(path, 0o640)
    writers.write_atomic(path, "new\n")
    assert path.read_text() == "new\n" and (os.stat(path).st_mode & 0o777) == 0o640
    writers.write_atomic("/dev/stdout", "to stdout\n")  # not replaced: written to
    assert "to stdout" in capfd.readouterr().out


# -- the practice-mode note in every output -------------------------------------------------

def test_practice_mode_note_shows_in_every_output(tmp_path):
    report = make_report(sandbox_note=NOTE)
    notice = M.PRACTICE_NOTICE.format(note=NOTE)
    lines = writers.terminal(report, MANIFEST).split("\n")
    assert lines[0].startswith("Grading ") and lines[1] == f"!! {notice}"
    paths = write_everything(report, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["sandboxed"] is False and data["sandbox_note"] == NOTE
    assert notice in json.loads(paths["gradescope"].read_text())["output"]
    suites = list(ET.parse(paths["junit"]).getroot().iter("testsuite"))
    assert len(suites) == 2
    for suite in suites:
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["sandboxed"] == "false" and props["sandbox_note"] == NOTE
    assert writers.markdown_text(notice) in writers.markdown(report)


def test_a_sandboxed_run_says_so_and_shows_no_note(tmp_path):
    report = make_report()
    assert report.sandbox_note == ""
    assert not writers.terminal(report, MANIFEST).split("\n")[1]
    paths = write_everything(report, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["sandboxed"] is True and "sandbox_note" not in data
    props = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).getroot().iter("property")}
    assert props["sandboxed"] == "true" and "sandbox_note" not in props
    assert "practice" not in writers.markdown(report)


# -- --batch --------------------------------------------------------------------------------

def fake_grade(target, names, settings, tests_dir, manifest):
    """Stands in for batch._grade_one in the lanes: a score from the folder's name, or trouble."""
    name = os.path.basename(target)
    if name.startswith("mallory"):
        os.kill(os.getpid(), signal.SIGKILL)  # takes its lane down, every time
    if name == "flaky":
        marker = os.path.join(target, "killed once")
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(3)  # takes its lane down, once
    if name == "slow":
        time.sleep(600)
    if name == "raiser":
        raise ValueError("kit bug \x1b[2J")
    passing = () if name.startswith("bob") else tuple(names) if "alice" in name else ("loss",)
    note = NOTE if name == "practice" else ""
    return make_report(target=target, passing=passing, sandbox_note=note).to_dict()


def run_batch(tmp_path, monkeypatch, folders, lanes=2, deadline=None):
    for folder in folders:
        (tmp_path / "in" / folder).mkdir(parents=True)
    monkeypatch.setattr(batch, "_grade_one", fake_grade)
    monkeypatch.setattr(os, "cpu_count", lambda: lanes)
    assert batch.main(str(tmp_path / "in"), str(tmp_path / "out"), MANIFEST.names, SETTINGS, None, MANIFEST,
                      deadline=deadline) == 0
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["submission"]: r for r in rows}, lambda name: json.loads((tmp_path / "out" / f"{name}.json").read_text())


def test_a_submission_that_kills_its_lane_costs_only_itself(tmp_path, monkeypatch):
    folders = ["alice", "bob", "carol", "flaky", "mallory", "raiser", "zed-alice"]
    rows, report = run_batch(tmp_path, monkeypatch, folders)
    totals = {name: row["total"] for name, row in rows.items()}
    assert totals == {"alice": "20", "bob": "0", "carol": "6", "flaky": "6", "mallory": "0", "raiser": "0",
                      "zed-alice": "20"}
    assert report("mallory")["error"] == M.BATCH_LANE_DIED.format(how="killed by SIGKILL")
    assert report("raiser")["error"] == M.BATCH_FAILED.format(error="ValueError('kit bug \\x1b[2J')")
    assert "error" not in report("flaky") and "error" not in report("alice")


def test_a_submission_past_its_deadline_is_stopped_and_the_rest_go_on(tmp_path, monkeypatch):
    start = time.monotonic()
    rows, report = run_batch(tmp_path, monkeypatch, ["alice", "carol", "slow"], lanes=2, deadline=3)
    assert time.monotonic() - start < 60
    assert {name: row["total"] for name, row in rows.items()} == {"alice": "20", "carol": "6", "slow": "0"}
    assert report("slow")["error"] == M.BATCH_DEADLINE.format(limit=3)


def test_batch_deadline_is_a_generous_multiple_of_the_timeout():
    assert batch.deadline_for(SETTINGS, MANIFEST, MANIFEST.names) >= 4 * 2 * SETTINGS.timeout + 60


def test_gradebook_cells_cannot_start_formulas_or_rows(tmp_path, monkeypatch):
    folders = ["=HYPERLINK(\"https:x\";\"alice\")", "+1-alice", "-2+3", "@SUM(A1)", "bob\r\nx,1,2", "practice"]
    rows, _ = run_batch(tmp_path, monkeypatch, folders)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        raw = f.read()
    assert raw.count("\r\n") == len(folders) + 1 and "\n" not in raw.replace("\r\n", "")
    assert list(next(iter(rows.values()))) == ["submission", *MANIFEST.names, "total", "max_score", "sandboxed"]
    assert not [name for name in rows if name.startswith(("=", "+", "-", "@"))]
    assert rows["'=HYPERLINK(\"https:x\";\"alice\")"]["total"] == "20"
    assert rows["bob\\r\\nx,1,2"]["total"] == "0"
    assert rows["practice"]["sandboxed"] == f"no: {NOTE}"
    assert rows["'-2+3"]["sandboxed"] == "yes"


def test_padding_cannot_place_student_text_at_the_start_of_a_line(tmp_path):
    pad = " " * 120
    fake = "ok" + pad + pad.join(["  [pass] forward 10/10", "Total: 100/100", "Progress: 9 of 9"]) + pad
    text = writers.terminal(make_report(fake), MANIFEST)
    starts = [line.strip().split(" ")[0] for line in text.splitlines()]
    assert starts.count("Total:") == 1 and "Progress:" not in starts[:-3]
    assert not any(line.strip().startswith("[pass] forward") for line in text.splitlines())
