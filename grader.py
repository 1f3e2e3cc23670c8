"""Grade the exercises: python grader.py [EXERCISE ...] [--solutions | --submission DIR]
[--seed N] [--timeout S] [--json PATH] [--fail-under PCT]

Exit status: 0 when grading ran; 1 with --fail-under when the score is below it;
2 for a usage error (unknown exercise, missing folder, bad option).
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)

from kit import manifest as manifest_mod  # noqa: E402  (light: no torch yet)
from kit.settings import SettingsError, resolve  # noqa: E402

USAGE_ERROR = 2


def parse(argv, manifest):
    p = argparse.ArgumentParser(prog="python grader.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exercises, in order: " + ", ".join(manifest.names))
    p.add_argument("exercises", nargs="*", metavar="EXERCISE", help="grade only these (default: all)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--solutions", action="store_true", help="grade ./solutions (the reference)")
    where.add_argument("--submission", metavar="DIR", help="grade the modules in DIR")
    p.add_argument("--seed", help="seed for the random cases (default: GRADER_SEED, else a fresh one)")
    p.add_argument("--timeout", metavar="S", help="seconds one call into student code may take "
                   "(default: GRADER_TIMEOUT, else manifest.toml)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--fail-under", metavar="PCT", type=float,
                   help="exit 1 when the score is below PCT percent of the maximum")
    return p.parse_args(argv)


def usage_error(message):
    print(f"grader.py: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def main(argv=None):
    manifest = manifest_mod.load()
    args = parse(sys.argv[1:] if argv is None else argv, manifest)
    unknown = [e for e in args.exercises if e not in manifest.names]
    if unknown:
        return usage_error(f"unknown exercise {', '.join(map(repr, unknown))}; "
                           f"valid exercises: {', '.join(manifest.names)}")
    target = os.path.join(ROOT, "solutions") if args.solutions else (
        args.submission if args.submission else os.path.join(ROOT, "exercises"))
    if not os.path.isdir(target):
        return usage_error(f"folder not found: {target}")
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        return usage_error("--fail-under takes a percentage from 0 to 100")
    try:
        settings = resolve(manifest.settings, args.seed, args.timeout)
    except SettingsError as e:
        return usage_error(str(e))
    names = [n for n in manifest.names if not args.exercises or n in args.exercises]

    from kit.sandbox import Sandbox
    sandbox = Sandbox(target, settings.timeout)  # starts importing torch in the worker now
    from kit import report as writers, runner
    report = runner.grade(target, names, settings, sandbox=sandbox, manifest=manifest)
    print(writers.terminal(report, manifest, ROOT))
    if args.json:
        writers.write_json(report, args.json)
    if args.fail_under is not None and report.score < args.fail_under / 100 * report.max_score:
        print(f"Score {report.score:g}/{report.max_score:g} is below --fail-under {args.fail_under:g}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
