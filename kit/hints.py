"""python grader.py --hint EXERCISE: the manifest's hints, one more level each time.

How far each exercise's hints have been revealed is kept in .grader/hints.json beside
grader.py (GRADER_HOME chooses another folder), so that a student is never shown more
than was asked for.
"""
import json
import os

from . import manifest as manifest_mod


def state_path():
    return os.path.join(os.environ.get("GRADER_HOME") or os.path.join(manifest_mod.ROOT, ".grader"), "hints.json")


def next_hint(manifest, exercise):
    """Reveal one more hint of `exercise`; return the text to print."""
    path = state_path()
    try:
        with open(path) as f:
            shown = json.load(f)
    except (OSError, ValueError):
        shown = {}
    hints = manifest.get(exercise).hints
    level = min(int(shown.get(exercise, 0)) + 1, len(hints))
    shown[exercise] = level
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(shown, f, indent=2)
    lines = [f"Hints for {exercise} ({manifest.get(exercise).title}), {level} of {len(hints)}:", ""]
    for k, hint in enumerate(hints[:level], 1):
        lines.append(f"{'>' if k == level else ' '} {k}. {hint}")
    lines.append("")
    lines.append(f"Run `python grader.py --hint {exercise}` again for hint {level + 1}."
                 if level < len(hints) else "That was the last hint.")
    return "\n".join(lines)
