"""Reads manifest.toml: the one list every tool reads (grader, plugin, handout, Gradescope,
Classroom workflow, the README's tables, the kit's own tests).

Each field is documented where it is read, below; an unknown key, a missing field or a rule
the worker does not enforce is an error with the file's name, not a silent default.
Light on purpose: grader.py loads it before torch.

    python -m kit.manifest --tables     prints the README's two tables, generated from here
"""
from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass

from .worker.contract import RULES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "manifest.toml")
FORMAT = 1  # manifest.toml's `format`: bump it when a field changes meaning


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Exercise:
    name: str  # the task ID everywhere: TODO(name), the pytest marker, tests/grading/test_<name>.py
    title: str  # one line, shown in reports
    modules: tuple[str, ...]  # the student modules (exercises/<m>.py) its worker loads
    forbid: tuple[str, ...]  # rules its worker enforces, exactly these (kit/worker/contract.py)
    tests: dict[str, float]  # grading test function -> points, in the order they run and print
    hints: tuple[str, ...] = ()  # shown one at a time by python grader.py --hint NAME
    demystifies: str = ""  # the README table's "what it takes the mystery out of" (markdown)
    files: str = ""  # the README table's "file" (markdown); default: the first module's file

    @property
    def max_score(self) -> float:
        return sum(self.tests.values())

    @property
    def file_column(self) -> str:
        return self.files or f"`{self.modules[0]}.py`"


@dataclass(frozen=True)
class Manifest:
    exercises: tuple[Exercise, ...]
    # [settings]: timeout (s per call into student code), exercise_budget and
    # submission_budget (multiples of the timeout that an exercise's / a run's calls may take)
    settings: dict[str, float]
    path: str = PATH
    format: int = FORMAT

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.exercises]

    def get(self, name: str) -> Exercise:
        for e in self.exercises:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)


_SETTINGS = {"timeout": 10.0, "exercise_budget": 2.0, "submission_budget": 6.0}
_REQUIRED = ("name", "title", "modules", "tests", "demystifies")
_OPTIONAL = ("forbid", "hints", "files")


def _exercise(entry: dict, where: str) -> Exercise:
    unknown = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    missing = [k for k in _REQUIRED if k not in entry]
    if unknown or missing:
        raise ManifestError(f"{where}: exercise {entry.get('name', '?')!r}: "
                            + "; ".join(filter(None, [unknown and f"unknown field(s) {sorted(unknown)}",
                                                      missing and f"missing field(s) {missing}"])))
    forbid = tuple(entry.get("forbid", ()))
    bad = [r for r in forbid if r not in RULES]
    if bad:
        raise ManifestError(f"{where}: exercise {entry['name']!r} forbids {bad}, which no worker enforces; "
                            f"rules: {', '.join(RULES)}")
    tests = dict(entry["tests"])
    if not tests or any(not isinstance(p, (int, float)) or p <= 0 for p in tests.values()):
        raise ManifestError(f"{where}: exercise {entry['name']!r}: every test needs positive points")
    return Exercise(name=entry["name"], title=entry["title"], modules=tuple(entry["modules"]), forbid=forbid,
                    tests=tests, hints=tuple(entry.get("hints", ())), demystifies=entry["demystifies"],
                    files=entry.get("files", ""))


def load(path: str = PATH) -> Manifest:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    where = os.path.relpath(path)
    if data.get("format") != FORMAT:
        raise ManifestError(f"{where}: format = {FORMAT} expected at the top (found {data.get('format')!r}); "
                            "this kit reads manifests of that format")
    unknown = set(data) - {"format", "settings", "exercise"}
    settings = dict(data.get("settings", {}))
    unknown |= {f"settings.{k}" for k in set(settings) - set(_SETTINGS)}
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {sorted(unknown)}")
    exercises = tuple(_exercise(e, where) for e in data.get("exercise", ()))
    names = [e.name for e in exercises]
    if not exercises or len(set(names)) != len(names):
        raise ManifestError(f"{where}: needs [[exercise]] entries with distinct names")
    return Manifest(exercises=exercises, settings={**_SETTINGS, **settings}, path=os.path.abspath(path))


# The README's tables, generated here so that they cannot drift from what is graded and enforced

def exercise_table(manifest: Manifest) -> str:
    rows = ["| exercise | file | points | what it takes the mystery out of |", "|---|---|---|---|"]
    rows += [f"| `{e.name}` | {e.file_column} | {e.max_score:g} | {e.demystifies} |" for e in manifest.exercises]
    return "\n".join(rows)


def rules_table(manifest: Manifest) -> str:
    from .messages import NO_GPU, RULE_SUMMARY
    rows = ["| exercise | may not call |", "|---|---|", f"| every exercise | {NO_GPU} |"]
    for rule in RULES:
        users = [e.name for e in manifest.exercises if rule in e.forbid]
        if users:
            rows.append(f"| {', '.join(f'`{u}`' for u in users)} | {RULE_SUMMARY[rule]} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv != ["--tables"]:
        print("usage: python -m kit.manifest --tables", file=sys.stderr)
        return 2
    manifest = load()
    print(exercise_table(manifest), rules_table(manifest), sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
