"""Comparisons with torch's answer; a mismatch fails the test with one clear sentence.

Tolerance per dtype: |got - expected| <= atol * scale + rtol * |expected|, where scale is
max(1, largest |expected|), so the bound follows the size of the numbers involved.
float32 allows for a different summation order; float64 is tight enough that computing
in float32 and casting back is caught.
"""
import itertools

import numpy as np
import pytest
import torch

from . import messages as M
from .misconceptions import CATALOG
from .results import Failure, Reason
from .worker.wire import Foreign

TOLERANCES = {  # dtype: (rtol, atol)
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (2e-2, 2e-2),
    torch.float32: (1e-4, 1e-5),
    torch.float64: (1e-10, 1e-12),
}


def fail(message, case=None, reason=Reason.WRONG_VALUES, mistake=""):
    """End the test: `message` says what is wrong; `case` is the case described (Case or text)."""
    mistake = mistake or getattr(message, "key", "")  # named(...) says which mistake it names
    failure = Failure(reason, str(message), "" if case is None else str(case), mistake=mistake)
    verdict = pytest.fail.Exception(failure.sentence, pytrace=False)  # what plain pytest shows
    verdict.failure = failure  # its parts, for the grader's report (kit/runner.py)
    raise verdict


def describe_value(value):
    if isinstance(value, Foreign):
        return f"a {value.type_name} ({value.text})" if value.text else f"a {value.type_name}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, bool):
        return f"a bool ({value})"
    if isinstance(value, (int, float)):
        return f"a Python {type(value).__name__} ({value!r})"
    return f"a {type(value).__name__}"


def expect_result(got, keys, case):
    """A scenario's dict of results (kit/drivers.py); anything else means the worker was tampered with."""
    if not isinstance(got, dict) or not all(k in got for k in keys):
        fail(M.NOT_THE_SCENARIOS_RESULTS.format(got=describe_value(got)), case, Reason.TAMPERED)
    return got


def tensor_problem(got, expected, what):
    """Type, shape and dtype, in that order: the first thing that is off, or None."""
    if got is None:
        return M.RETURNED_NONE.format(what=what)
    if isinstance(got, np.ndarray):
        return M.RETURNED_NUMPY.format(what=what)
    if not isinstance(got, torch.Tensor):
        return M.WRONG_TYPE.format(what=what, got=describe_value(got))
    if got.shape != expected.shape:
        return M.WRONG_SHAPE.format(what=what, got=tuple(got.shape), expected=tuple(expected.shape))
    if got.dtype != expected.dtype:
        return M.WRONG_DTYPE.format(what=what, got=got.dtype, expected=expected.dtype)
    return None


def _index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(int(flat), tuple(shape))) if len(shape) else ()


def value_problem(got, expected, what):
    """For tensors of the same shape and dtype: the largest error beyond tolerance, or None."""
    if expected.numel() == 0:
        return None
    if not expected.is_floating_point():
        if not torch.equal(got, expected):
            bad = (got != expected).flatten().nonzero()[0, 0]
            return f"{what}: wrong values (first at index {_index(bad, expected.shape)})"
        return None
    rtol, atol = TOLERANCES[expected.dtype]
    e, g = expected.double().flatten(), got.double().flatten()
    finite = torch.isfinite(e)
    bad_nonfinite = finite & ~torch.isfinite(g)
    if bad_nonfinite.any():
        first = bad_nonfinite.nonzero()[0, 0]
        return M.NOT_FINITE.format(what=what, count=int(bad_nonfinite.sum()), index=_index(first, expected.shape))
    scale = max(1.0, float(e[finite].abs().max())) if finite.any() else 1.0
    err = torch.where(finite, (g - e).abs(), torch.zeros_like(e))
    allowed = atol * scale + rtol * e.abs()
    over = torch.where(finite, err - allowed, torch.zeros_like(e))
    mismatch_nonfinite = ~finite & ~((g == e) | (torch.isnan(g) & torch.isnan(e)))
    if not (over > 0).any() and not mismatch_nonfinite.any():
        return None
    worst = int(err.argmax()) if (over > 0).any() else int(mismatch_nonfinite.nonzero()[0, 0])
    rel = f" (relative {float(err[worst] / e[worst].abs()):.2g})" if e[worst] != 0 else ""
    return M.VALUES_DIFFER.format(what=what, err=float(err[worst]), rel=rel, index=_index(worst, expected.shape),
                                  exp=float(e[worst]), got=float(g[worst]), tol=float(allowed[worst]),
                                  dtype=str(expected.dtype).replace("torch.", ""))


class Named(str):
    """A sentence naming a known mistake, which carries its catalog key to fail()."""
    key = ""


def named(key, detail):
    """The message for a mistake recognised by a rule rather than by its output."""
    m = CATALOG[key]
    sentence = Named(M.LOOKS_LIKE.format(name=m.name, why=m.why, fix=m.fix, detail=detail))
    sentence.key = key
    return sentence


def diagnose(problem, got, mistakes, on_shape=None, expected=None, sizes=None):
    """Name the known mistake (kit/misconceptions.py) whose output `got` matches, if any.
    Returns (the sentence, the catalog key it names: "" for none, "a|b" when several match).

    mistakes: {catalog key: a function computing, with torch, what that mistake gives here}.
    on_shape: for a wrong shape that no mistake's output matches, a function of the student's
    tensor giving the arithmetic of the right size (kit/shapes.py): numbers, not a guess.
    expected: torch's answer, to say when got is a constant multiple of it.
    sizes: {what: number} of this case ("the batch size": 5), to say which one such a multiple is.
    """
    matched = []  # every mistake that gives exactly this answer: naming one of several would be a guess
    for key, produce in (mistakes or {}).items():
        try:
            candidates = produce()  # one tensor, or a list of the forms this mistake can take
        except Exception:  # this mistake cannot even run on this case
            continue
        for candidate in candidates if isinstance(candidates, list) else [candidates]:
            if isinstance(candidate, torch.Tensor) and _same(got, candidate):
                matched.append(key)
                break
    if len(matched) == 1:
        return named(matched[0], problem), matched[0]
    if matched:
        entries = [CATALOG[key] for key in matched]
        return M.LOOKS_LIKE_ONE_OF.format(
            names=" or ".join(m.name for m in entries), detail=problem,
            each=" ".join(M.ONE_OF_EACH.format(name=m.name, why=m.why, fix=m.fix) for m in entries)), \
            "|".join(matched)
    moved = _rearranged(got, expected)
    if moved:
        return f"{problem}; {moved} ({M.NO_KNOWN_MISTAKE})", ""
    if on_shape and isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor) \
            and got.shape != expected.shape:
        try:
            return f"{problem}: {on_shape(got)}", ""
        except Exception:  # a shape the arithmetic cannot read (too few dimensions, say)
            pass
    ratio = _constant_ratio(got, expected)
    if ratio:
        text, n = ratio
        which = [what for what, size in (sizes or {}).items() if n is not None and size == n]
        note = M.RATIO_IS_SIZE.format(n=n, what=" or ".join(which)) if which else ""
        return f"{problem}; {M.CONSTANT_RATIO.format(ratio=text)}{note} ({M.NO_KNOWN_MISTAKE})", ""
    return f"{problem}{_where_it_differs(got, expected)} ({M.NO_KNOWN_MISTAKE})", ""


DIMENSION_NAMES = {2: ("row", "column"), 4: ("batch item", "channel", "row", "column")}


def _rearranged(got, expected):
    """torch's answer with its dimensions swapped (a transpose), or shifted by one along a
    dimension (an index off by one), when that is exactly what got is; else ""."""
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor) or got.dim() != expected.dim() \
            or got.dim() == 0 or got.dim() > 4 or not expected.is_floating_point() or expected.numel() < 2:
        return ""
    if sorted(got.shape) != sorted(expected.shape):
        return ""
    for order in itertools.permutations(range(got.dim())):
        permuted = expected.permute(order).contiguous()
        if list(order) != sorted(order) and permuted.shape == got.shape and _same(got, permuted) \
                and not (permuted.shape == expected.shape and _same(permuted, expected)):  # not symmetric
            moved = [d for d in range(got.dim()) if order[d] != d]
            if len(moved) == 2:
                return M.SWAPPED.format(a=moved[0], b=moved[1])
            return M.PERMUTED.format(order=", ".join(map(str, order)))
    if got.shape != expected.shape:
        return ""
    for d in range(got.dim()):
        n = got.shape[d]
        if n < 3 or _same(expected.narrow(d, 1, n - 1), expected.narrow(d, 0, n - 1)):
            continue  # too short to tell, or torch's answer is the same one index on
        for shift, where in ((1, "later"), (-1, "earlier")):
            a, b = (got.narrow(d, 1, n - 1), expected.narrow(d, 0, n - 1)) if shift == 1 else \
                (got.narrow(d, 0, n - 1), expected.narrow(d, 1, n - 1))
            if _same(a, b):
                return M.SHIFTED.format(dim=d, where=where)
    return ""


def _indices(hit):
    """[0, 1, 2, 5] -> "0-2, 5"."""
    runs, start = [], hit[0]
    for a, b in zip(hit, hit[1:] + [None]):
        if b != a + 1:
            runs.append(str(start) if start == a else f"{start}-{a}")
            start = b
    return ", ".join(runs)


def _where_it_differs(got, expected):
    """Which part of the answer is off, when no known mistake explains it: how many values, and
    what they share (some indices of a dimension only, or a torch value of 0 there). "" when every
    value is off or the shapes differ."""
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor) or got.shape != expected.shape \
            or not expected.is_floating_point() or not got.is_floating_point() or expected.numel() < 2:
        return ""
    rtol, atol = TOLERANCES[expected.dtype]
    e, g = expected.double(), got.double()
    finite = torch.isfinite(e)
    scale = max(1.0, float(e[finite].abs().max())) if finite.any() else 1.0
    bad = ~((g - e).abs() <= atol * scale + rtol * e.abs()) & ~((g == e) | (torch.isnan(g) & torch.isnan(e)))
    count, total = int(bad.sum()), bad.numel()
    if count in (0, total):
        return ""
    places = []
    if bool((e[bad] == 0).all()) and bool((e[~bad] != 0).any()):
        places.append(M.DIFFERS_WHERE_ZERO)
    for d in range(bad.dim()):
        size = bad.shape[d]
        hit = bad.movedim(d, 0).reshape(size, -1).any(1).nonzero().flatten().tolist()
        if size > 1 and len(hit) < size:
            name = DIMENSION_NAMES[bad.dim()][d] + ("s" if len(hit) > 1 else "") if bad.dim() in DIMENSION_NAMES \
                else f"dimension {d} at {'indices' if len(hit) > 1 else 'index'}"
            places.append(M.DIFFERS_ONLY_AT.format(indices=_indices(hit), name=name))
    return M.DIFFERS_AT.format(count=count, total=total, places=f" ({', '.join(places)})" if places else "")


def _constant_ratio(got, expected):
    """("exactly 1/5 of", 5) when every value of got is the same multiple of torch's: numbers that
    point at a missing or extra factor (a batch size, a count) without guessing which; the whole
    number is None when the multiple is not one."""
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor):
        return None
    if got.shape != expected.shape or not expected.is_floating_point() or expected.numel() < 2:
        return None
    e, g = expected.double().flatten(), got.double().flatten()
    if not (torch.isfinite(e).all() and torch.isfinite(g).all()):
        return None
    big = e.abs() > 1e-6 * max(1.0, float(e.abs().max()))
    if int(big.sum()) < 2 or not torch.allclose(g[~big], torch.zeros_like(g[~big]), atol=1e-6):
        return None
    r = g[big] / e[big]
    r0 = float(r.median())
    if r0 == 0 or abs(r0 - 1) < 1e-3 or not torch.allclose(r, torch.full_like(r, r0), rtol=1e-3, atol=0):
        return None
    if abs(r0 + 1) < 1e-3:
        return "exactly the negative of", None  # a sign flipped
    sign, size = ("-" if r0 < 0 else ""), abs(r0)
    for n in range(2, 10001):
        if abs(size * n - 1) < 1e-3:
            return f"exactly {sign}1/{n} of", n
        if abs(size - n) < 1e-3 * n:
            return f"exactly {sign}{n} times", n
    return f"{r0:.4g} times", None


def expect_close(got, expected, what, case, mistakes=None, on_shape=None, sizes=None):
    problem = tensor_problem(got, expected, what)
    if problem and not isinstance(got, torch.Tensor):
        fail(problem, case, Reason.WRONG_TYPE)  # not even a tensor: that says it all
    reason = Reason.WRONG_SHAPE if got.shape != expected.shape else \
        Reason.WRONG_TYPE if got.dtype != expected.dtype else Reason.WRONG_VALUES
    problem = problem or value_problem(got, expected, what)
    if problem:
        text, mistake = diagnose(problem, got, mistakes, on_shape, expected, sizes)
        fail(text, case, reason, mistake)


def expect_grads(got, expected, names, case, mistakes=None):
    """A list of gradients where None is a legitimate, checked answer.

    mistakes: {catalog key: function giving the list of gradients that mistake produces}."""
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        fail(M.GRADIENT_COUNT.format(expected=len(expected), got=describe_value(got)), case, Reason.WRONG_TYPE)
    for i, (g, e, name) in enumerate(zip(got, expected, names)):
        if e is None:
            if g is not None:
                fail(M.GRAD_SHOULD_BE_NONE.format(what=name), case)
        elif g is None:
            fail(M.GRAD_SHOULD_EXIST.format(what=name), case)
        else:
            try:
                expect_close(g, e, name, case, {k: (lambda f=f, i=i: f()[i]) for k, f in (mistakes or {}).items()})
            except pytest.fail.Exception as verdict:
                right = [n for g2, e2, n in zip(got, expected, names) if _same(g2, e2)]
                f = getattr(verdict, "failure", None)
                if not right or f is None:
                    raise
                # which layers are right points at the one whose backward is not
                fail(f"{f.text} ({M.GRADS_THAT_MATCH.format(names=', '.join(right))})", case, f.reason, f.mistake)


def _same(got, expected):
    """got is expected's value within tolerance (None where None is right)."""
    if expected is None or got is None:
        return got is None and expected is None
    return isinstance(got, torch.Tensor) and tensor_problem(got, expected, "") is None \
        and value_problem(got, expected, "") is None


def expect_floats(got, count, what, case):
    """A list of `count` Python numbers (one loss per batch, say), or a failure saying what it is."""
    if not isinstance(got, list):
        fail(M.NOT_A_FLOAT_LIST.format(what=what, got=describe_value(got)), case, Reason.WRONG_TYPE)
    if len(got) != count:
        fail(M.FLOAT_LIST_LENGTH.format(what=what, got=len(got), expected=count), case, Reason.WRONG_SHAPE)
    for i, g in enumerate(got):
        if isinstance(g, torch.Tensor):
            fail(M.FLOAT_IS_A_TENSOR.format(what=what, i=i), case, Reason.WRONG_TYPE)
        if not isinstance(g, (float, int)) or isinstance(g, bool):
            fail(M.NOT_A_FLOAT.format(what=what, i=i, got=describe_value(g)), case, Reason.WRONG_TYPE)


def expect_float_list(got, expected, what, case, dtype=torch.float64, mistakes=None):
    expect_floats(got, len(expected), what, case)
    as_tensor = lambda values: torch.tensor(values, dtype=dtype)  # noqa: E731
    expect_close(as_tensor([float(g) for g in got]), as_tensor(expected), what, case,
                 {k: (lambda f=f: [as_tensor(v) for v in f()]) for k, f in (mistakes or {}).items()})
