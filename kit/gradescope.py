"""python -m kit.gradescope OUT.zip [--tests DIR]: build a Gradescope autograder zip.

The zip holds setup.sh and run_autograder at its root, and the grader (no solutions).
With --tests, the private grading tests in DIR replace tests/grading (a manifest.toml
there replaces the points too). On Gradescope, choose an Ubuntu base image whose python3
is 3.11 or newer. Grades are made in the kit's sandbox (Linux namespaces and seccomp); if the
image's container offers none, run_autograder reports that to the course staff instead of
grading, unless the zip was built with --allow-unsandboxed. run_autograder honours AUTOGRADER_ROOT (default /autograder) and
AUTOGRADER_PYTHON, so that it can be tried on a fake /autograder folder.
"""
import argparse
import os
import sys
import zipfile

from . import manifest as manifest_mod

ROOT = manifest_mod.ROOT
SOURCES = ["kit", "grader.py", "manifest.toml", "pyproject.toml", "README.md"]

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
set -euo pipefail
apt-get install -y python3 python3-venv python3-pip libseccomp2
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "the grader needs Python 3.11+: choose a newer base image")'
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/python -m pip install -e /autograder/source
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must leave results/results.json behind.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
SUBMISSION="$ROOT/submission"
# students may upload the files themselves or their whole exercises/ folder
if [ -d "$SUBMISSION/exercises" ]; then SUBMISSION="$SUBMISSION/exercises"; fi
mkdir -p "$ROOT/results"
cd "$ROOT/source"
"$PYTHON" grader.py --submission "$SUBMISSION" --gradescope "$ROOT/results/results.json"{flags} 2> "$ROOT/results/stderr.txt"
if [ ! -s "$ROOT/results/results.json" ]; then
  "$PYTHON" -c 'import json, sys; print(json.dumps({"score": 0, "tests": [], "output":
    "The autograder could not run. Please tell the course staff.\\n" + open(sys.argv[1], errors="replace").read()[-2000:]}))' \\
    "$ROOT/results/stderr.txt" > "$ROOT/results/results.json"
fi
"""


def _add_tree(zf, source, arcname):
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".pyc"):
                path = os.path.join(folder, name)
                zf.write(path, os.path.join(arcname, os.path.relpath(path, source)))


def _add_script(zf, name, text):
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16  # executable once unzipped
    zf.writestr(info, text)


def build(out, tests_dir=None, allow_unsandboxed=False):
    tests_dir = tests_dir or os.path.join(ROOT, "tests", "grading")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_script(zf, "setup.sh", SETUP)
        _add_script(zf, "run_autograder", RUN.replace("{flags}", " --allow-unsandboxed" if allow_unsandboxed else ""))
        for item in SOURCES:
            path = os.path.join(ROOT, item)
            if os.path.isdir(path):
                _add_tree(zf, path, item)
            else:
                zf.write(path, item)
        _add_tree(zf, tests_dir, os.path.join("tests", "grading"))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m kit.gradescope", description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="the zip file to write")
    p.add_argument("--tests", metavar="DIR", help="private grading tests to ship instead of tests/grading")
    p.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade even if Gradescope's container offers no sandbox (reports say so)")
    args = p.parse_args(argv)
    if args.tests and not os.path.isdir(args.tests):
        print(f"kit.gradescope: error: folder not found: {args.tests}", file=sys.stderr)
        return 2
    build(args.out, args.tests, args.allow_unsandboxed)
    print(f"Wrote {args.out}: upload it as the autograder of a Gradescope programming assignment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
