"""How long grading the reference solutions takes, as a multiple of `python -c "import torch"`.

    python benchmarks/speed.py [--repeat N]

Goal (issue 3): the ratio is at most 3. Both commands run as fresh processes, alternately,
and the medians are compared, so a busy machine slows both alike. Prints one line per
measurement and the ratio last.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def seconds(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        grade = [sys.executable, "grader.py", "--solutions", "--seed", "0", "--json", report]
        bare = [sys.executable, "-c", "import torch"]
        seconds(bare)  # warm the file cache for both
        base, full = [], []
        for i in range(args.repeat):
            base.append(seconds(bare))
            full.append(seconds(grade))
            print(f"run {i + 1}: import torch {base[-1]:.2f} s, grade --solutions {full[-1]:.2f} s")
    ratio = statistics.median(full) / statistics.median(base)
    print(f"median: import torch {statistics.median(base):.2f} s, grading {statistics.median(full):.2f} s")
    print(f"ratio {ratio:.2f} (goal: at most 3.00)")


if __name__ == "__main__":
    main()
