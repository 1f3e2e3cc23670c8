"""Honest alternative implementations keep full marks: numpy, einsum, Tensor.unfold, scalar loops."""
import pytest

from alternatives import ALTERNATIVES
from kit_support import build_submission, failed_tests, pack

FOLDERS = pack(ALTERNATIVES)


@pytest.mark.parametrize("k", range(len(FOLDERS)), ids=lambda k: "+".join(a.name for a in FOLDERS[k]))
def test_alternative_implementations_earn_full_marks(grade, tmp_path, k):
    report = grade(build_submission(tmp_path / "s", [(a.module, a.source) for a in FOLDERS[k]]), seed=k)
    assert report.score == report.max_score, failed_tests(report)
