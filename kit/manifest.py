"""Reads manifest.toml: the exercises in order, their tests and points, hints, settings."""
import os
import tomllib
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "manifest.toml")


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    modules: tuple
    forbid: tuple
    tests: dict  # pytest function name -> points, in order
    hints: tuple = field(default=())

    @property
    def max_score(self):
        return sum(self.tests.values())


@dataclass(frozen=True)
class Manifest:
    exercises: tuple
    settings: dict
    path: str = PATH

    @property
    def names(self):
        return [e.name for e in self.exercises]

    def get(self, name):
        for e in self.exercises:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def max_score(self):
        return sum(e.max_score for e in self.exercises)


def load(path=PATH):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    exercises = tuple(
        Exercise(name=e["name"], title=e["title"], modules=tuple(e["modules"]),
                 forbid=tuple(e.get("forbid", ())), tests=dict(e["tests"]),
                 hints=tuple(e.get("hints", ())))
        for e in data["exercise"])
    return Manifest(exercises=exercises, settings=dict(data.get("settings", {})), path=os.path.abspath(path))
