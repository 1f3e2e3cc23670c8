"""Effective grading settings, with one precedence for each: command line > environment > default.

seed:    --seed N  >  GRADER_SEED  >  a fresh random seed (printed, so any run can be reproduced)
timeout: --timeout S  >  GRADER_TIMEOUT  >  manifest.toml [settings] timeout
"""
import os
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    seed: int
    timeout: float
    seed_source: str
    timeout_source: str


class SettingsError(ValueError):
    pass


def _number(text, kind, what):
    try:
        value = kind(text)
    except ValueError:
        raise SettingsError(f"{what} must be a {kind.__name__}, got {text!r}") from None
    if value < 0 or (kind is float and value == 0):
        raise SettingsError(f"{what} must be positive, got {text!r}")
    return value


def resolve(manifest_settings, seed=None, timeout=None, environ=None):
    environ = os.environ if environ is None else environ
    if seed is not None:
        seed_value, seed_source = _number(str(seed), int, "--seed"), "--seed"
    elif environ.get("GRADER_SEED"):
        seed_value, seed_source = _number(environ["GRADER_SEED"], int, "GRADER_SEED"), "GRADER_SEED"
    else:
        # wide enough that a submission cannot recover it from its cases by trying every seed
        seed_value, seed_source = secrets.randbelow(10**15), "random"
    if timeout is not None:
        t, t_source = _number(str(timeout), float, "--timeout"), "--timeout"
    elif environ.get("GRADER_TIMEOUT"):
        t, t_source = _number(environ["GRADER_TIMEOUT"], float, "GRADER_TIMEOUT"), "GRADER_TIMEOUT"
    else:
        t, t_source = float(manifest_settings.get("timeout", 10)), "manifest.toml"
    return Settings(seed=seed_value, timeout=t, seed_source=seed_source, timeout_source=t_source)
