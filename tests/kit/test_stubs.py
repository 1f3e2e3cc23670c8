"""Untouched stubs earn zero, and every exercise says it is not implemented yet."""
from kit_support import EXERCISES, MANIFEST

from kit import messages as M


def test_stubs_earn_zero_with_not_implemented_messages(grade):
    report = grade(EXERCISES, seed=0)
    assert report.score == 0
    assert report.max_score == MANIFEST.max_score
    for ex in report.exercises:
        assert ex.status == "not implemented", (ex.name, ex.first_failure.message)
        first = ex.first_failure.message
        assert first.startswith(M.NOT_IMPLEMENTED), first
        assert f"({ex.name}: " in first, f"the message should name the exercise: {first}"
        assert "on case:" in first
        for t in ex.tests:
            assert t.score == 0 and t.message


def test_no_case_passes_on_the_stubs():
    """Plain pytest counts cases: on untouched stubs not one may pass (valid optimizer arguments
    once passed, as a stub accepts anything; they now also have to step as torch does)."""
    import os
    import subprocess
    import sys
    from kit_support import ROOT
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/grading",
                             "--target", EXERCISES, "--seed", "0"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "PYTEST_ADDOPTS": ""})
    summary = result.stdout.strip().splitlines()[-1]
    assert " failed" in summary and " passed" not in summary, summary
