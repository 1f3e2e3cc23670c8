"""Registers the grading plugin, so that `pytest tests/grading` grades exercises/ (and, in a
student copy, plain `pytest` does), with the same tests and seeds as `python grader.py`."""
pytest_plugins = ["kit.plugin"]
