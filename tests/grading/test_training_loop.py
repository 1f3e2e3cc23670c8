"""Grading tests for the training_loop exercise: losses and call order against a torch loop."""
import pytest
import torch
import torch.nn.functional as F

from kit.cases import Case
from kit.results import Reason
from kit.compare import expect_close, expect_float_list, expect_result, fail, named
from kit.optimizers import eager

pytestmark = pytest.mark.exercise("training_loop")


def scenario(rng, num_epochs=None):
    dtype = rng.dtype()
    n_in, hidden, n_out = rng.int(1, 4), rng.int(2, 6), rng.int(1, 3)
    params = [rng.randn(hidden, n_in, dtype=dtype, scale=0.5), rng.randn(hidden, dtype=dtype, scale=0.1),
              rng.randn(n_out, hidden, dtype=dtype, scale=0.5), rng.randn(n_out, dtype=dtype, scale=0.1)]
    stale = [rng.randn(*p.shape, dtype=dtype, scale=10.0) for p in params]
    batches = [(rng.randn(rng.int(1, 4), n_in, dtype=dtype), None) for _ in range(rng.int(2, 4))]
    batches = [(x, rng.randn(x.shape[0], n_out, dtype=dtype)) for x, _ in batches]
    settings = {"num_epochs": num_epochs or rng.int(1, 3), "lr": 0.05, "momentum": rng.choice([0.0, 0.9])}
    return params, stale, batches, settings


def reference(params, stale, batches, num_epochs, lr, momentum, zero_grad_at="start"):
    """The loop as it would be written with torch: nn-style model, autograd, torch.optim.
    zero_grad_at: "start" (right), or where a known mistake puts it: "after_backward", "end", "never"."""
    leaves = [p.clone().requires_grad_() for p in params]
    for leaf, g in zip(leaves, stale):
        leaf.grad = g.clone()
    opt = eager(torch.optim.SGD)(leaves, lr=lr, momentum=momentum)
    losses = []
    for _ in range(num_epochs):
        for x, y in batches:
            if zero_grad_at == "start":
                opt.zero_grad()
            loss = F.mse_loss(F.linear(torch.relu(F.linear(x, *leaves[:2])), *leaves[2:]), y)
            loss.backward()
            if zero_grad_at == "after_backward":
                opt.zero_grad()
            opt.step()
            if zero_grad_at == "end":
                opt.zero_grad()
            losses.append(loss.item())
    return losses, [leaf.detach() for leaf in leaves]


class StandIns:
    """The model, criterion and optimizer the student's loop drives. They live here, in the
    grader: the worker only holds handles that call back (kit/worker/drivers.py, RemoteModel...),
    so the log of calls is the grader's own record, and the parameters are the grader's own."""

    def __init__(self, params, stale, lr, momentum, batches):
        self.shapes = {tuple(x.shape) for x, _ in batches} | {tuple(y.shape) for _, y in batches}
        self.leaves = [p.clone().requires_grad_() for p in params]
        for leaf, g in zip(self.leaves, stale):
            leaf.grad = g.clone()  # left over from earlier work: the loop must clear it
        self.optimizer = eager(torch.optim.SGD)(self.leaves, lr=lr, momentum=momentum)
        self.log, self.out, self.diff = [], None, None
        self.out_shape = (-1,)

    def __call__(self, name, args):
        method = {"forward": self.forward, "backward": self.backward, "loss": self.loss,
                  "loss.backward": self.loss_backward, "zero_grad": self.zero_grad, "step": self.step}.get(name)
        if method is None:
            return {"error": f"no such call: {name}"}
        try:
            for arg, value in args.items():  # what a batch holds, nothing larger: this is the grader's memory
                if isinstance(value, torch.Tensor) and tuple(value.shape) not in self.shapes | {tuple(self.out_shape)}:
                    raise ValueError(f"{arg} has shape {tuple(value.shape)}: not a batch's x, y or output")
            result = method(**args)
        except Exception as e:  # raised in the student's code, where the call came from
            return {"error": f"{type(e).__name__}: {e}"}
        self.log.append(name)
        return {"result": result}

    def forward(self, x):
        self.out = F.linear(torch.relu(F.linear(x, *self.leaves[:2])), *self.leaves[2:])
        self.out_shape = self.out.shape
        return self.out.detach()

    def backward(self, grad_output):
        if self.out is None:
            raise RuntimeError("model.backward(...) was called before model(x)")
        self.out.backward(grad_output)  # accumulates, as loss.backward() does

    def loss(self, input, target):
        if input.shape != target.shape:
            raise ValueError(f"criterion(output, y): output has shape {tuple(input.shape)}, y {tuple(target.shape)}")
        self.diff = input - target
        return (self.diff ** 2).mean()

    def loss_backward(self):
        if self.diff is None:
            raise RuntimeError("criterion.backward() was called before criterion(output, y)")
        return 2 * self.diff / self.diff.numel()

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=bool(set_to_none))

    @torch.no_grad()
    def step(self):
        self.optimizer.step()


def run(student, rng, num_epochs=None):
    params, stale, batches, settings = scenario(rng, num_epochs)
    case = Case(f"{len(batches)} batches of x {tuple(batches[0][0].shape[1:])}, {settings['num_epochs']} epochs, "
                f"momentum={settings['momentum']}, parameters arriving with stale gradients, "
                f"{str(params[0].dtype).replace('torch.', '')}")
    standins = StandIns(params, stale, settings["lr"], settings["momentum"], batches)
    try:
        got = expect_result(student.run("train", case=case, callbacks=standins, batches=batches,
                                        num_epochs=settings["num_epochs"]), ["losses"], case)
    except pytest.fail.Exception as failure:
        raised = failure.failure.text
        if failure.failure.reason == Reason.RAISED and "does not require grad" in raised:
            # torch's words for loss.backward() on a loss with no graph: here, the kit's stand-ins
            fail(f"{raised}. The loss here has no autograd graph: as in the spec, the loop gets gradients with "
                 "model.backward(criterion.backward()), not loss.backward()", case, Reason.RAISED)
        raise
    got.update(log=standins.log, params=[leaf.detach() for leaf in standins.leaves])
    misplaced = {at: (lambda at=at: reference(params, stale, batches, **settings, zero_grad_at=at)[0])
                 for at in ("end", "after_backward", "never")}
    n_batches = len(batches) * settings["num_epochs"]
    return got, reference(params, stale, batches, **settings), params[0].dtype, case, misplaced, n_batches


@pytest.mark.parametrize("i", range(4))
def test_losses(student, rng, i):
    got, (losses, final), dtype, case, misplaced, _ = run(student, rng, num_epochs=[1, 2, 3, None][i])
    expect_float_list(got["losses"], losses, "the returned losses", case, dtype=dtype,
                      mistakes={"zero_grad_placement": lambda: [f() for f in misplaced.values()]})
    for k, (g, e) in enumerate(zip(got["params"], final)):
        expect_close(g, e, f"parameter {k} after training", case)


CALLS = {"zero_grad": "optimizer.zero_grad()", "forward": "model(x)", "loss": "criterion(output, y)",
         "loss.backward": "criterion.backward()", "backward": "model.backward(...)", "step": "optimizer.step()"}


@pytest.mark.parametrize("i", range(2))
def test_call_order(student, rng, i):
    got, _, _, case, _, n_batches = run(student, rng, num_epochs=2)
    log = got["log"]
    for name, call in CALLS.items():
        if log.count(name) != n_batches:
            fail(f"{call} was called {log.count(name)} times for {n_batches} batches: once per batch", case)
    for b in range(n_batches):
        batch = log[b * 6:(b + 1) * 6]
        if batch.index("zero_grad") > batch.index("backward"):
            fail(named("zero_grad_placement", f"batch {b + 1}: optimizer.zero_grad() came after model.backward(...)"),
                 case)
        if batch.index("step") < batch.index("backward"):
            fail(f"batch {b + 1}: optimizer.step() came before the backward pass: the update used "
                 "the previous batch's gradients", case)
