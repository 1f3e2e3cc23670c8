"""Grade the exercises: python grader.py [EXERCISE ...] [--solutions | --submission DIR | --batch DIR]
[--seed N] [--timeout S] [--json PATH] [--gradescope PATH] [--junit PATH] [--tests DIR] [--fail-under PCT]

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
DEFAULT_TESTS = os.path.join(ROOT, "tests", "grading")


def parse(argv, manifest):
    p = argparse.ArgumentParser(prog="python grader.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exercises, in order: " + ", ".join(manifest.names))
    p.add_argument("exercises", nargs="*", metavar="EXERCISE", help="grade only these (default: all)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--solutions", action="store_true", help="grade ./solutions (the reference)")
    where.add_argument("--submission", metavar="DIR", help="grade the modules in DIR")
    where.add_argument("--batch", metavar="DIR", help="grade every submission folder in DIR, in parallel, "
                       "and write a CSV gradebook and one JSON report per submission to --out")
    p.add_argument("--out", metavar="DIR", default="grades", help="where --batch writes (default: ./grades)")
    p.add_argument("--seed", help="seed for the random cases (default: GRADER_SEED, else a fresh one)")
    p.add_argument("--timeout", metavar="S", help="seconds one call into student code may take "
                   "(default: GRADER_TIMEOUT, else manifest.toml)")
    p.add_argument("--tests", metavar="DIR", help="grade with these grading tests (a private copy of "
                   "tests/grading, with its own manifest.toml if the points differ)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--gradescope", metavar="PATH", help="also write Gradescope's results.json")
    p.add_argument("--junit", metavar="PATH", help="also write JUnit XML")
    p.add_argument("--watch", action="store_true", help="regrade whenever a file of the submission changes")
    p.add_argument("--hint", metavar="EXERCISE", help="show the next hint for EXERCISE (one more each time)")
    p.add_argument("--train", action="store_true", help="train the capstone CNN with your parts, beside torch's "
                   "(its own options: python grader.py --train --help)")
    show = p.add_argument_group("see a convolution: --explain conv2d|conv_transpose2d [geometry] [--png PATH]")
    show.add_argument("--explain", choices=["conv2d", "conv_transpose2d"])
    for name, default in (("size", 4), ("kernel", 3), ("stride", 1), ("padding", 0), ("dilation", 1),
                          ("output-padding", 0)):
        show.add_argument(f"--{name}", type=int, default=default, metavar="N", help=f"(default {default})")
    show.add_argument("--png", metavar="PATH", help="also draw it (needs matplotlib)")
    p.add_argument("--case", metavar="TEST", default="", help="with one EXERCISE: run only this test "
                   "(test_basic) or case (test_basic[2]), as failure messages suggest")
    p.add_argument("--fail-under", metavar="PCT", type=float,
                   help="exit 1 when the score is below PCT percent of the maximum")
    p.add_argument("--require-sandbox", action="store_true", help="refuse to grade where the system offers "
                   "no sandbox (implied by --batch, --tests and --gradescope: grades for an instructor)")
    p.add_argument("--allow-unsandboxed", action="store_true", help="grade even where there is no sandbox "
                   "(practice mode); every report says so")
    return p.parse_args(argv)


def usage_error(message):
    print(f"grader.py: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def load_manifest(argv):
    """The manifest of the grading tests in use (a private --tests copy may bring its own)."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--tests")
    given = first.parse_known_args(argv)[0].tests
    tests_dir = os.path.abspath(given) if given else DEFAULT_TESTS
    if not os.path.isdir(tests_dir):
        raise UsageError(f"folder not found: {given}")
    path = os.path.join(tests_dir, "manifest.toml")
    try:
        return manifest_mod.load(path if os.path.exists(path) else manifest_mod.PATH), tests_dir, bool(given)
    except (manifest_mod.ManifestError, OSError, ValueError) as e:  # tomllib's errors are ValueErrors
        raise UsageError(str(e)) from None


class UsageError(Exception):
    pass


def known(names, manifest):
    unknown = [e for e in names if e not in manifest.names]
    if unknown:
        raise UsageError(f"unknown exercise {', '.join(map(repr, unknown))}; "
                         f"valid exercises: {', '.join(manifest.names)}")


def validate(args, manifest):
    """Every check that needs no torch: a usage error costs milliseconds. Returns (target, names)."""
    known(args.exercises, manifest)
    target = os.path.join(ROOT, "solutions") if args.solutions else (
        args.batch or args.submission or os.path.join(ROOT, "exercises"))
    if not os.path.isdir(target):
        raise UsageError(f"folder not found: {target}")
    for mode in ("batch", "watch"):
        if getattr(args, mode):
            clash = [f"--{o.replace('_', '-')}" for o in ("json", "gradescope", "junit", "fail_under", "case")
                     if getattr(args, o) not in (None, "")]
            if clash or (mode == "batch" and args.watch):
                raise UsageError(f"{', '.join(clash) or '--watch'} cannot be used with --{mode}"
                                 + (" (it writes a JSON report per submission to --out)" if mode == "batch" else ""))
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise UsageError("--fail-under takes a percentage from 0 to 100")
    names = [n for n in manifest.names if not args.exercises or n in args.exercises]
    if args.case:
        test = args.case.split("[")[0]
        if len(names) != 1:
            raise UsageError("--case takes one exercise and one of its tests, e.g. "
                             "python grader.py conv2d --case 'test_basic[2]'")
        if test not in manifest.get(names[0]).tests:
            raise UsageError(f"{names[0]} has no test named {test!r}; its tests: "
                             f"{', '.join(manifest.get(names[0]).tests)}")
    return target, names


def write_outputs(args, report, manifest):
    """The terminal report, then every file asked for. Returns the exit status."""
    from kit import writers
    text = writers.terminal(report, manifest)
    print(text)
    if args.json:
        writers.write_json(report, args.json)
    if args.gradescope:
        writers.write_gradescope(report, args.gradescope, text)
    if args.junit:
        writers.write_junit(report, args.junit)
    writers.append_summary(report)  # GITHUB_STEP_SUMMARY, when set
    if args.fail_under is not None and report.score < args.fail_under / 100 * report.max_score:
        print(f"Score {report.score:g}/{report.max_score:g} is below --fail-under {args.fail_under:g}%")
        return 1
    return 0


def grade(args, run, required):
    """One grading run, in a sandbox this function owns. Returns the exit status."""
    from kit.sandbox import SandboxUnavailable
    # the zygote starts importing torch now, before this process imports it too (kit.runner
    # imports pytest, and torch through the plugin): the two imports overlap instead of
    # following each other. The workers see neither the kit nor the tests.
    with run.open_sandbox():
        from kit import runner
        try:
            if required:
                run.sandbox.zygote.check()
            report = runner.grade(run)
        except SandboxUnavailable as e:
            raise UsageError(str(e)) from None
    if run.case and report.crash.startswith("there is no case"):
        raise UsageError(report.crash)
    return write_outputs(args, report, run.manifest)


def dispatch(args, manifest, tests_dir, private_tests):
    """What the arguments ask for. Returns the exit status."""
    if args.explain:
        from kit import explain
        geometry = explain.Geometry(args.size, args.kernel, args.stride, args.padding, args.dilation,
                                    args.output_padding)
        return explain.main(args.explain, geometry, args.png)
    if args.hint:
        known([args.hint], manifest)
        from kit.hints import next_hint
        print(next_hint(manifest, args.hint))
        return 0
    target, names = validate(args, manifest)
    try:
        settings = resolve(manifest.settings, args.seed, args.timeout)
    except SettingsError as e:
        raise UsageError(str(e)) from None
    required = bool(args.batch or private_tests or args.gradescope or args.require_sandbox) \
        and not args.allow_unsandboxed
    if args.watch:
        from kit import watch
        return watch.main(target, names, settings, tests_dir, manifest, ROOT)
    if args.batch:
        from kit import batch
        from kit.sandbox import SandboxUnavailable, Zygote
        if required:
            try:  # milliseconds: the probe imports nothing
                probe = Zygote(allow_unsandboxed=False, probe=True)
                probe.check()
                probe.close()
            except SandboxUnavailable as e:
                raise UsageError(str(e)) from None
        batch.ALLOW_UNSANDBOXED = not required
        return batch.main(target, args.out, names, settings, tests_dir, manifest)
    from kit.grading_run import GradingRun
    run = GradingRun(target, names, settings, manifest, tests_dir, case=args.case, allow_unsandboxed=not required)
    return grade(args, run, required)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if "--train" in argv:  # the capstone's training run has its own options (--train --help)
            from kit import train
            return train.main([a for a in argv if a != "--train"])
        manifest, tests_dir, private_tests = load_manifest(argv)
        return dispatch(parse(argv, manifest), manifest, tests_dir, private_tests)
    except UsageError as e:
        return usage_error(str(e))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ngrader.py: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # python grader.py | head: the reader had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
