"""Honest alternative implementations keep full marks: numpy, einsum, scalar loops, ..."""
from alternatives import ALTERNATIVES
from conftest import failed_tests


def test_alternative_implementations_earn_full_marks(grade, submission):
    snippets = {}
    for alt in ALTERNATIVES:
        snippets[alt.module] = snippets.get(alt.module, "") + "\n\n" + alt.source
    report = grade(submission(snippets), seed=0)
    assert report.score == report.max_score, failed_tests(report)
