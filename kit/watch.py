"""python grader.py --watch [EXERCISE ...]: regrade whenever a file of the submission changes.

Like rustlings' watch mode: edit, save, read the report. One zygote serves every round, so a
regrade costs no torch import, and the seed stays the same, so the cases stay the same.
"""
import os
import sys
import time

from . import writers
from . import runner
from .sandbox import Zygote

CLEAR = "\033[2J\033[H"


def snapshot(folder):
    """What a change looks like: the name, size and modification time of each module."""
    state = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            st = os.stat(os.path.join(folder, name))
            state[name] = (st.st_mtime_ns, st.st_size)
    return state


def main(target, names, settings, tests_dir, manifest, root, interval=0.3):
    zygote = Zygote()
    seen = None
    try:
        while True:
            now = snapshot(target)
            if now != seen:
                seen = now
                run = runner.GradingRun(target, names, settings, manifest, tests_dir)
                with run.open_sandbox(zygote=zygote):
                    report = runner.grade(run)
                print((CLEAR if sys.stdout.isatty() else "") + writers.terminal(report, manifest))
                print(f"\nWatching {os.path.relpath(target)} for changes. Ctrl-C to stop.", flush=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        print("\nStopped watching.")
    finally:
        zygote.close()
    return 0
