"""The reference solutions earn every point, under fixed seeds and a fresh one."""
import secrets

import pytest

from kit_support import MANIFEST, SOLUTIONS, failed_tests

FRESH_SEED = secrets.randbelow(10**6)


@pytest.mark.parametrize("seed", [0, 1, FRESH_SEED])
def test_solutions_earn_full_marks(grade, seed):
    report = grade(SOLUTIONS, seed=seed)
    assert report.score == report.max_score == MANIFEST.max_score, (
        f"seed {seed}: python grader.py --solutions --seed {seed}\n{failed_tests(report)}")
