"""Grade every submission folder in a directory: a CSV gradebook and one JSON report each.

Submissions are graded in parallel, one lane per core. Each lane is a process of the
grader (trusted code: it imports torch and pytest once, then grades submission after
submission), with its own zygote; student code runs only in that zygote's workers, as in
a single grading run. One submission that breaks its lane is recorded with a zero and
the reason; the others are unaffected.
"""
import concurrent.futures
import csv
import json
import multiprocessing
import os

from . import results

_zygote = None  # one per lane process


def submissions(root):
    return [(name, os.path.join(root, name)) for name in sorted(os.listdir(root))
            if not name.startswith((".", "_")) and os.path.isdir(os.path.join(root, name))]


def _grade_one(target, names, settings, tests_dir, manifest):
    global _zygote
    from .runner import grade
    from .sandbox import Sandbox, Zygote
    if _zygote is None:
        _zygote = Zygote()
    sandbox = Sandbox(target, settings.timeout, zygote=_zygote)
    return grade(target, names, settings, tests_dir=tests_dir, sandbox=sandbox, manifest=manifest).to_dict()


def main(root, out, names, settings, tests_dir, manifest):
    found = submissions(root)
    if not found:
        print(f"grader.py: error: no submission folders in {root} (one folder per student)")
        return 2
    os.makedirs(out, exist_ok=True)
    lanes = min(os.cpu_count() or 1, len(found))
    print(f"Grading {len(found)} submissions in {root} ({lanes} at a time)   seed {settings.seed}")
    reports = {}
    context = multiprocessing.get_context("fork")  # this process has not imported torch yet
    with concurrent.futures.ProcessPoolExecutor(lanes, mp_context=context) as pool:
        futures = {pool.submit(_grade_one, path, names, settings, tests_dir, manifest): name
                   for name, path in found}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                reports[name] = future.result()
            except Exception as e:  # the lane itself broke: record it, keep going
                reports[name] = results.build(manifest, names, {}, settings.seed, settings.timeout,
                                              os.path.join(root, name),
                                              crash=f"grading this submission failed: {e!r}").to_dict()
            with open(os.path.join(out, f"{name}.json"), "w") as f:
                json.dump(reports[name], f, indent=2)
            print(f"  {name}: {reports[name]['score']:g}/{reports[name]['max_score']:g}")
    gradebook = os.path.join(out, "gradebook.csv")
    with open(gradebook, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *names, "total", "max_score"])
        for name, _ in found:
            r = reports[name]
            by_name = {e["name"]: e["score"] for e in r["exercises"]}
            writer.writerow([name, *(f"{by_name[n]:g}" for n in names), f"{r['score']:g}", f"{r['max_score']:g}"])
    print(f"Wrote {gradebook} and one JSON report per submission in {out}")
    return 0
