"""The pieces on their own: the wire format, the comparisons, the settings precedence."""
import os

import numpy as np
import pytest
import torch

from kit_support import MANIFEST, ROOT

from kit import messages as M
from kit.worker import wire
from kit.compare import expect_close, expect_grads
from kit.settings import SettingsError, resolve


def test_wire_round_trip_keeps_data_and_types():
    value = {"t": torch.arange(6, dtype=torch.float64).reshape(2, 3), "b": torch.tensor([True, False]),
             "e": torch.empty(0, 3), "n": None, "l": [1, 2.5, "x", (3, float("inf"))],
             "a": np.ones((2, 2), dtype=np.float32), "z": torch.tensor(2.0)}
    back = wire.loads(wire.dumps(value))
    assert torch.equal(back["t"], value["t"]) and back["t"].dtype == torch.float64
    assert torch.equal(back["b"], value["b"]) and back["e"].shape == (0, 3) and back["z"].dim() == 0
    assert back["n"] is None and back["l"] == [1, 2.5, "x", (3, float("inf"))]
    assert isinstance(back["a"], np.ndarray) and back["a"].dtype == np.float32


def test_wire_turns_code_into_descriptions_never_objects():
    class Sneaky:
        def __repr__(self):
            raise RuntimeError("no")
    back = wire.loads(wire.dumps([print, Sneaky(), {1: 2}, 10**30]))
    assert all(isinstance(v, wire.Foreign) for v in back)
    assert back[0].type_name == "builtin_function_or_method" and back[1].text == "(its repr failed)"


@pytest.mark.parametrize("data", [b"", b"\x00" * 7, wire.dumps({"a": 1})[:-2] + b"]]", b"\xff" * 64,
                                  wire.dumps(torch.ones(4))[:-3]])
def test_wire_rejects_malformed_messages(data):
    with pytest.raises(wire.WireError):
        wire.loads(data)


def test_wire_checks_a_tensors_sizes_before_multiplying_them():
    """An eleventh outside attacker's forged reply: 6900 sizes of 600 digits each, multiplied out,
    took the grader a minute; they are refused at once."""
    import json
    import struct
    import time
    header = json.dumps({"tensor": 0, "dtype": "float32", "shape": [int("9" * 600)] * 6900}).encode()
    start = time.monotonic()
    with pytest.raises(wire.WireError):
        wire.loads(struct.pack("<II", len(header), 1) + header + struct.pack("<Q", 0))
    assert time.monotonic() - start < 1


def failure(fn):
    with pytest.raises(pytest.fail.Exception) as info:
        fn()
    return str(info.value.msg)


def test_comparisons_say_what_differs():
    e = torch.zeros(2, 3, dtype=torch.float64)
    assert failure(lambda: expect_close(None, e, "out", "c")).startswith(M.RETURNED_NONE.format(what="out"))
    assert "has shape (3, 2), expected (2, 3)" in failure(lambda: expect_close(e.T, e, "out", "c"))
    assert "has dtype torch.float32" in failure(lambda: expect_close(e.float(), e, "out", "c"))
    g = e.clone()
    g[1, 2] = 0.5
    msg = failure(lambda: expect_close(g, e, "out", "case A"))
    assert "off by up to 0.5" in msg and "index (1, 2)" in msg and msg.endswith("on case: case A")
    g[0, 0] = float("nan")
    assert "nan/inf" in failure(lambda: expect_close(g, e, "out", "c"))


def test_tolerances_follow_the_dtype():
    e = torch.full((3,), 100.0, dtype=torch.float64)
    expect_close(e + 1e-9, e, "out", "c")  # within float64's bound at this scale
    failure(lambda: expect_close(e + 1e-6, e, "out", "c"))
    expect_close(e.float() + 1e-3, e.float(), "out", "c")  # float32 allows a different summation order
    failure(lambda: expect_close(e.float() + 0.1, e.float(), "out", "c"))


def test_gradient_lists_check_none():
    t = torch.ones(2)
    assert M.GRAD_SHOULD_BE_NONE.format(what="b") in failure(lambda: expect_grads([t, t], [t, None], "ab", "c"))
    assert M.GRAD_SHOULD_EXIST.format(what="a") in failure(lambda: expect_grads([None, None], [t, None], "ab", "c"))


def test_settings_precedence_flag_then_environment_then_default():
    env = {"GRADER_SEED": "5", "GRADER_TIMEOUT": "3"}
    s = resolve(MANIFEST.settings, 9, 2, environ=env)
    assert (s.seed, s.timeout, s.seed_source, s.timeout_source) == (9, 2.0, "--seed", "--timeout")
    s = resolve(MANIFEST.settings, environ=env)
    assert (s.seed, s.timeout) == (5, 3.0)
    s = resolve(MANIFEST.settings, environ={})
    assert s.seed_source == "random" and s.timeout == MANIFEST.settings["timeout"]
    with pytest.raises(SettingsError):
        resolve(MANIFEST.settings, environ={"GRADER_SEED": "x"})


def test_the_worker_package_imports_only_the_standard_library_torch_numpy_and_itself():
    """Nothing of the grader's is loaded where student code runs (kit/worker/ is a trust boundary)."""
    import ast
    import sys
    folder = os.path.join(ROOT, "kit", "worker")
    own = {name[:-3] for name in os.listdir(folder) if name.endswith(".py")}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0]] if node.level == 0 or node.module else \
                        [a.name for a in node.names]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root in {"torch", "numpy"} or root in own, (name, root)


def test_the_readme_lists_every_field_of_the_json_report():
    import re
    from kit import results
    with open(os.path.join(ROOT, "README.md")) as f:
        row = next(line for line in f if line.startswith("| `--json PATH` |"))
    schema = row.split("|")[2]
    documented = set(re.findall(r'"(\w+)"', schema))
    from kit.results import Failure, Reason
    outcomes = {(e.name, t): [Failure(Reason.WRONG_VALUES, "x", "c", f"{t}[0]", "m")]
                for e in MANIFEST.exercises for t in e.tests}
    report = results.build(MANIFEST, MANIFEST.names, outcomes, 1, 1.0, "t", crash="c", sandbox_note="n", case="c")
    data = report.to_dict()
    keys = set(data) | set(data["exercises"][0]) | set(data["exercises"][0]["tests"][0])
    assert keys == documented, (keys - documented, documented - keys)
    assert all(f"`{reason}`" in schema for reason in Reason.ALL)  # every reason kind is explained


def test_seeds_are_too_wide_to_try_and_each_batch_submission_has_its_own():
    from kit.batch import submission_seed
    assert max(resolve(MANIFEST.settings, environ={}).seed for _ in range(20)) > 10**9
    assert submission_seed(7, "alice") == submission_seed(7, "alice") != submission_seed(7, "bob")


def test_a_report_with_the_longest_name_a_file_can_have_is_written(tmp_path):
    from kit.writers import write_atomic
    path = tmp_path / ("m" * 250 + ".json")
    write_atomic(path, "{}")
    assert path.read_text() == "{}"
