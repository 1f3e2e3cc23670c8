"""Grading tests for the loss exercise: MSELoss and CrossEntropyLoss values against torch."""
import pytest
import torch
import torch.nn.functional as F

from kit.results import Reason
from kit.cases import Case, describe
from kit import messages as M
from kit.compare import expect_close, expect_result, fail
from kit.worker.shared import Region

pytestmark = pytest.mark.exercise("loss")


def check_loss(student, cls, input, target, case):
    reference = F.mse_loss if cls == "MSELoss" else F.cross_entropy
    mistakes = {"sum_vs_mean": lambda: reference(input, target, reduction="sum")}
    if cls == "CrossEntropyLoss":
        rows = torch.arange(len(target))
        probe = {}

        def finite_on(name, logits):
            """Whether your loss is finite on other logits (same targets): None if it could not run."""
            if name not in probe:
                try:
                    again = student.run("loss_forward", case=case, cls=cls, input=logits, target=target)
                    probe[name] = bool(torch.isfinite(again["forward"]).all())
                except (Exception, pytest.fail.Exception):
                    probe[name] = None  # no proof either way
            return probe[name]

        # Both mistakes give inf or nan on a case like this one; two more runs tell them apart.
        # Logits that are all about 1000, a little apart: exp() overflows, no probability is near 0.
        level = 1000.0 + torch.linspace(0, 1, input.shape[1], dtype=input.dtype).expand_as(input)
        # The case's logits with each row's maximum subtracted: nothing overflows, the spread stays.
        shifted_input = input - input.max(1, keepdim=True).values

        def proven(forms, overflow):
            """The forms, unless they are not finite and the runs rule this mistake out: overflow is
            proven when your loss is not finite on `level`; underflow when it is finite there but not
            on the shifted logits. (Code with both shows the overflow first: fix that first.)"""
            if all(torch.isfinite(f).all() for f in forms):
                return forms  # they equal torch's answer here: they cannot match a wrong one
            on_level = finite_on("level", level)
            if overflow:
                return forms if on_level in (False, None) else []
            return forms if on_level in (True, None) and finite_on("shifted", shifted_input) in (False, None) else []
        mistakes["exp_overflow"] = lambda: proven([  # the forms the unshifted formula takes
            -torch.log(input.exp() / input.exp().sum(1, keepdim=True))[rows, target].mean(),
            (input.exp().sum(1).log() - input[rows, target]).mean(),
            -(input[rows, target].exp() / input.exp().sum(1)).log().mean()], True)

        def underflow():  # shifted, but the log of a probability that can round to 0
            shifted = shifted_input.exp()
            return proven([-(shifted / shifted.sum(1, keepdim=True)).log()[rows, target].mean(),
                           -(shifted[rows, target] / shifted.sum(1)).log().mean()], False)
        mistakes["log_softmax_underflow"] = underflow
    lent = Region([input, target])  # read back: the loss must leave both as they were
    got = expect_result(student.run("loss_forward", case=case, cls=cls, input=lent[0], target=lent[1], lend=lent),
                        ["forward", "call"], case)
    for k, given in enumerate((input, target)):
        if not torch.equal(lent.now(k), given):
            fail(M.INPUT_CHANGED.format(function=f"{cls}.forward", position=k + 1,
                                        shape="x".join(map(str, given.shape))), case, Reason.CHANGED_INPUT)
    expect_close(got["forward"], reference(input, target), f"{cls}.forward(input, target)", case, mistakes)
    expect_close(got["call"], reference(input, target), f"{cls}()(input, target)", case, mistakes)


def ce_case(rng, scale=1.0, n=None):
    dtype = rng.dtype()
    n, c = n or rng.int(1, 6), rng.int(2, 6)
    logits = rng.randn(n, c, dtype=dtype, scale=scale)
    target = torch.randint(0, c, (n,), generator=rng.gen)
    return Case(describe(input=logits, target=target) + (f", logits up to {scale:g}" if scale > 1 else ""),
                (logits, target))


@pytest.mark.parametrize("i", range(5))
def test_mse(student, rng, i):
    dtype = rng.dtype()
    shape = rng.choice([(rng.int(1, 6),), (rng.int(1, 4), rng.int(1, 5)), (2, 3, rng.int(1, 3)), (1,)])
    input, target = rng.randn(*shape, dtype=dtype), rng.randn(*shape, dtype=dtype)
    case = Case(describe(input=input, target=target))
    check_loss(student, "MSELoss", input, target, case)


@pytest.mark.parametrize("i", range(5))
def test_cross_entropy(student, rng, i):
    case = ce_case(rng, n=1 if i == 0 else None)
    check_loss(student, "CrossEntropyLoss", *case.args, case)


@pytest.mark.parametrize("scale", [100.0, 1000.0, 5000.0])
def test_cross_entropy_large_logits(student, rng, scale):
    case = ce_case(rng, scale=scale)
    check_loss(student, "CrossEntropyLoss", *case.args, case)
