"""The grading machinery. Where things are:

manifest.py       reads manifest.toml (each field documented there) and generates the README's tables
grading_run.py    GradingRun: target, exercises, settings, manifest, case, and the sandbox it owns
settings.py       the effective seed and timeout (command line > environment > default)
sandbox.py        the grader's side of the workers: requests, deadlines, budgets, kill and replace
worker/           where student code runs, a package of its own (its __init__ maps it): the
                  zygote and workers, the OS sandbox (jail.py, seccomp_filter.py), the rules
                  (guards.py), the drivers, lent memory (shared.py), the wire format
plugin.py         the pytest plugin behind tests/grading: the student and rng fixtures
cases.py          seeded random cases and their labels
compare.py        comparisons with torch's answer, per-dtype tolerances, naming known mistakes
misconceptions.py the catalog of known mistakes (name, why, the rule that fixes it)
optimizers.py     grading any optimizer class against torch.optim: trajectories, arguments, zero_grad
messages.py       every sentence a student reads
runner.py         runs a GradingRun's tests (pytest) and collects a Report
results.py        Failure (a Reason kind and a sentence), TestResult, ExerciseResult, Report (to_dict);
                  the one rerun command
writers.py        the writers: terminal, JSON, Gradescope, JUnit, job-summary markdown
batch.py          --batch: many submissions in parallel, a CSV gradebook
hints.py          --hint: one more level each time
watch.py          --watch: regrade on save
explain.py        --explain: the index arithmetic of conv2d and conv_transpose2d, as text or PNG
handout.py        python -m kit.handout OUT: the student copy
classroom.py      its GitHub Classroom workflow (one step per grading test) and the check each step runs
train.py          --train: the capstone CNN, the student's parts and torch's side by side
gradescope.py     python -m kit.gradescope OUT.zip: the Gradescope autograder
"""
