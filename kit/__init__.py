"""The grading machinery. Where things are:

manifest.py  reads manifest.toml: exercises in order, tests and points, hints, settings
settings.py  the effective seed and timeout (command line > environment > default)
sandbox.py   the grader's side of the worker: requests, timeouts, crashes, kill and replace
worker.py    the process where student code runs (a zygote that forks one worker at a time)
guards.py    forbidden calls, caught inside the worker (convolution ops, autograd, torch.optim)
drivers.py   the scenarios the worker plays with student code (stand-ins for other exercises)
wire.py      the data-only format between the two sides (never pickle)
plugin.py    the pytest plugin behind tests/grading: the student and rng fixtures
cases.py     seeded random cases and their labels
compare.py   comparisons with torch's answer, with per-dtype tolerances
messages.py  every sentence a student reads
runner.py    runs the grading tests and collects a Report
results.py   TestResult, ExerciseResult, Report (to_dict)
report.py    the terminal report and the JSON file
"""
