"""Wrong implementations lose the points of their mistake, and only in their own exercise."""
import re

import pytest

from kit_support import MANIFEST, build_submission, failed_tests, pack
from wrong_implementations import ARITHMETIC, MISCONCEPTION, WRONG, Says

from kit import messages as M
from kit.misconceptions import CATALOG


FOLDERS = pack(WRONG, apart=lambda a, b: a.exercise == b.exercise)  # one mistake per exercise
FOLDER_OF = {w.name + " / " + w.exercise: k for k, folder in enumerate(FOLDERS) for w in folder}


@pytest.fixture(scope="session")
def reports(grade, tmp_path_factory):
    """One grading run per folder, shared by every test below."""
    cache = {}

    def get(k):
        if k not in cache:
            folder = build_submission(tmp_path_factory.mktemp(f"wrong{k}") / "submission",
                                      [(w.module, w.source) for w in FOLDERS[k]])
            cache[k] = grade(folder, seed=0)
        return cache[k]
    return get


@pytest.mark.parametrize("key", list(FOLDER_OF))
def test_wrong_implementation_is_caught(reports, key):
    k = FOLDER_OF[key]
    wrong = next(w for w in FOLDERS[k] if w.name + " / " + w.exercise == key)
    failed = failed_tests(reports(k))
    missed = [t for t in wrong.fails if (wrong.exercise, t) not in failed]
    assert not missed, f"{wrong.name}: these tests should fail but passed: {missed}"
    for t in wrong.fails:
        assert failed[(wrong.exercise, t)], "a failing test must say why"


@pytest.mark.parametrize("k", range(len(FOLDERS)))
def test_points_lost_only_where_the_mistakes_are(reports, k):
    touched = {w.exercise for w in FOLDERS[k]}
    report = reports(k)
    for ex in report.exercises:
        if ex.name not in touched:
            assert ex.score == ex.max_score, f"{ex.name} lost points to another exercise's mistake: " \
                f"{[(t.name, t.message) for t in ex.tests if t.status != 'passed']}"
        else:
            assert ex.score < ex.max_score


def test_every_exercise_has_wrong_implementations():
    assert {w.exercise for w in WRONG} == set(MANIFEST.names)


NAMED = [key for key in FOLDER_OF if key.split(" / ")[0] in MISCONCEPTION]


@pytest.mark.parametrize("key", NAMED)
def test_known_mistakes_are_named(reports, key):
    k = FOLDER_OF[key]
    wrong = next(w for w in FOLDERS[k] if w.name + " / " + w.exercise == key)
    failed = failed_tests(reports(k))
    first = next(t for t in MANIFEST.get(wrong.exercise).tests if (wrong.exercise, t) in failed)
    message = failed[(wrong.exercise, first)]
    entry = MISCONCEPTION[wrong.name]
    if entry is None:  # no entry fits: the message says so, and which part of the answer differs
        assert M.NO_KNOWN_MISTAKE in message, message
        assert " values differ" in message or " torch's" in message, message
    elif isinstance(entry, Says):  # recognised by a rule of its test, with its own sentence
        assert entry.words in message, message
        assert "looks like" not in message and M.NO_KNOWN_MISTAKE not in message, message
    elif entry == ARITHMETIC:  # the right size worked out with the case's numbers, next to the student's
        assert " has shape " in message and " = " in message and "yours has" in message, message
        assert "looks like" not in message, message
    else:
        assert message.startswith(f"looks like {CATALOG[entry].name}: "), message
        assert "on case:" in message


def test_every_catalog_entry_has_a_wrong_implementation():
    assert set(CATALOG) <= {v for v in MISCONCEPTION.values() if v}
    assert {v for v in MISCONCEPTION.values() if isinstance(v, str) and v != ARITHMETIC} <= set(CATALOG)
    assert set(MISCONCEPTION) <= {w.name for w in WRONG}


@pytest.mark.parametrize("k", range(len(FOLDERS)))
def test_every_failing_message_names_its_case_and_how_to_rerun_it(reports, k):
    for (exercise, test), message in failed_tests(reports(k)).items():
        assert "on case:" in message, message
        # the case of a parametrized test (test_basic[2]), or the test itself when it has one case
        assert re.search(rf"-- rerun: python grader\.py {exercise} --case '{test}(\[[^']+\])?' ", message), message
