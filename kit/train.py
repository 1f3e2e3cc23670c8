"""python grader.py --train (or python -m kit.train): your own parts train a CNN on real handwritten
digits, side by side with the same network in torch.

The network is the cnn exercise's (conv 3x3 -> relu -> conv 3x3 stride 2 -> relu -> flatten ->
linear), built from your conv2d, relu, linear, their backward passes, your CrossEntropyLoss and
SGD, driven by your train loop. A part you have not finished yet (it raises NotImplementedError),
or one that disagrees with torch on a small check, is replaced by torch's, and the run says which.
torch's network starts from the same weights and sees the same batches: the two runs agree step
for step when every part and the wiring are right.

Practice, not grading: no score comes from here. Your code runs unsandboxed, in a child process of
this one (stopped after --budget seconds and a grace period). A timed probe measures one training
step first: when the whole run would not fit in the budget, it trains on fewer batches per epoch
and says so, or, when not even that fits, says why and stops.

The digits: 1,797 8x8 images from the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin, C. Kaynak; CC BY 4.0), see kit/data. Pictures: a PNG with matplotlib (pip install
-e ".[plot]"), a compact text version without it.
"""
import argparse
import importlib
import math
import os
import subprocess
import sys
import time
import types

from . import messages as M

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "submission"  # the student's folder is imported as this package, as the grader's workers do
GRACE = 30  # seconds past the budget before the child is stopped (start-up, torch's run, pictures)


def parse(argv):
    p = argparse.ArgumentParser(prog="python grader.py --train", description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--target", metavar="DIR", help="the folder with your modules (default: exercises/)")
    where.add_argument("--submission", metavar="DIR", help="the same as --target")
    where.add_argument("--solutions", action="store_true", help="train with the reference solutions")
    p.add_argument("--epochs", type=int, default=8, help="passes over the training digits (default 8)")
    p.add_argument("--batch-size", type=int, default=32, help="(default 32)")
    p.add_argument("--lr", type=float, default=0.1, help="SGD's learning rate (default 0.1)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD's momentum (default 0.9)")
    p.add_argument("--channels", type=int, nargs=2, default=(8, 16), metavar=("C1", "C2"),
                   help="the two convolutions' output channels (default 8 16)")
    p.add_argument("--seed", type=int, default=0, help="initial weights and batch order (default 0)")
    p.add_argument("--budget", type=float, default=45.0, metavar="S",
                   help="seconds your network's training may take (default 45)")
    p.add_argument("--png", metavar="PATH", default="cnn_training.png",
                   help="where the pictures go when matplotlib is installed (default ./cnn_training.png)")
    p.add_argument("--text", action="store_true", help="text pictures even when matplotlib is installed")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    if args.child:
        return run(args)
    target = folder(args)
    if not os.path.isdir(target):
        print(f"kit.train: error: folder not found: {target}", file=sys.stderr)
        return 2
    # the student's code runs in a child: a hang or a crash there ends only the child
    command = [sys.executable, "-m", "kit.train", "--child", *argv]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    child = subprocess.Popen(command, cwd=os.getcwd(), env=env)
    try:
        return child.wait(timeout=args.budget + GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        print(f"\nStopped: the run took longer than {args.budget + GRACE:g} s (--budget {args.budget:g} plus "
              f"{GRACE} s): look for a loop that never ends in your code, or make it faster.")
        return 1
    except KeyboardInterrupt:
        child.kill()
        child.wait()
        print("\ninterrupted")
        return 130


def folder(args):
    if args.solutions:
        return os.path.join(ROOT, "solutions")
    return os.path.abspath(args.target or args.submission or os.path.join(ROOT, "exercises"))


# --- torch's parts: what stands in for a part that is not yours yet --------------------------

def _torch_parts():
    import torch
    import torch.nn.functional as F

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)

    def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
        grad_input = torch.nn.grad.conv2d_input(input.shape, weight, grad_output, stride, padding, dilation, groups)
        grad_weight = torch.nn.grad.conv2d_weight(input, weight.shape, grad_output, stride, padding, dilation, groups)
        return grad_input, grad_weight, grad_output.sum(dim=(0, 2, 3))

    def linear_backward(grad_output, x, weight):
        g = grad_output.reshape(-1, weight.shape[0])
        return grad_output @ weight, g.T @ x.reshape(-1, weight.shape[1]), g.sum(0)

    def relu_backward(grad_output, x):
        return torch.where(x > 0, grad_output, torch.zeros_like(grad_output))

    class CrossEntropyLoss:
        def __call__(self, input, target):
            return self.forward(input, target)

        def forward(self, input, target):
            self.probs, self.target = torch.softmax(input, dim=1), target
            return F.cross_entropy(input, target)

        def backward(self):
            grad = self.probs.clone()
            grad[torch.arange(len(self.target)), self.target] -= 1
            return grad / len(self.target)

    def SGD(params, lr=1e-3, momentum=0, **kwargs):  # noqa: N802 -- stands for a class
        return torch.optim.SGD(list(params), lr=lr, momentum=momentum, **kwargs)

    def train(model, criterion, optimizer, loader, num_epochs):
        losses = []
        for _ in range(num_epochs):
            for x, y in loader:
                optimizer.zero_grad()
                loss = criterion(model(x), y)
                model.backward(criterion.backward())
                optimizer.step()
                losses.append(loss.item())
        return losses

    return {"conv2d": conv2d, "conv2d_backward": conv2d_backward, "linear": F.linear, "relu": torch.relu,
            "linear_backward": linear_backward, "relu_backward": relu_backward,
            "CrossEntropyLoss": CrossEntropyLoss, "SGD": SGD, "train": train}


class KitCNN:
    """The cnn exercise's wiring, for when cnn.py is not done yet: it uses the chosen parts."""

    def __init__(self, parts, w1, b1, w2, b2, w3, b3):
        self.p, self.params = parts, [w1, b1, w2, b2, w3, b3]

    def parameters(self):
        return self.params

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        p, (w1, b1, w2, b2, w3, b3) = self.p, self.params
        self.x, self.h1 = x, p["conv2d"](x, w1, b1, stride=1, padding=1)
        self.a1 = p["relu"](self.h1)
        self.h2 = p["conv2d"](self.a1, w2, b2, stride=2, padding=1)
        self.a2 = p["relu"](self.h2)
        self.flat = self.a2.reshape(len(x), -1)
        return p["linear"](self.flat, w3, b3)

    def backward(self, grad_output):
        p, (w1, w2, w3) = self.p, self.params[0::2]
        g, gw3, gb3 = p["linear_backward"](grad_output, self.flat, w3)
        g = p["relu_backward"](g.reshape(self.a2.shape), self.h2)
        g, gw2, gb2 = p["conv2d_backward"](g, self.a1, w2, stride=2, padding=1)
        g = p["relu_backward"](g, self.h1)
        g, gw1, gb1 = p["conv2d_backward"](g, self.x, w1, stride=1, padding=1)
        for t, grad in zip(self.params, (gw1, gb1, gw2, gb2, gw3, gb3)):
            t.grad = grad if t.grad is None else t.grad + grad
        return g


# --- which parts are the student's: each is tried on a small case against torch ----------------

# (module, name, the exercise that grades it)
PARTS = [("conv2d", "conv2d", "conv2d"), ("conv2d_backward", "conv2d_backward", "conv2d_backward"),
         ("forward", "linear", "forward"), ("forward", "relu", "forward"),
         ("backward", "linear_backward", "backward"), ("backward", "relu_backward", "backward"),
         ("loss", "CrossEntropyLoss", "loss / backward"), ("optim", "SGD", "sgd / zero_grad"),
         ("training_loop", "train", "training_loop")]


def _close(got, expected):
    import torch
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and got.dtype == expected.dtype and \
        torch.allclose(got, expected, rtol=1e-6, atol=1e-8)


def _cases(name, r):
    """(args, kwargs) of the small float64 cases a tensor part is checked on."""
    x, w, b, go = r(2, 3, 7, 6), r(4, 3, 3, 3), r(4), r(2, 4, 4, 3)
    return {"conv2d": [((x, w, b), {"stride": 2, "padding": 1}), ((x, w, b), {"stride": 1, "padding": 1})],
            "conv2d_backward": [((go, x, w), {"stride": 2, "padding": 1})],
            "linear": [((r(5, 4), r(3, 4), r(3)), {})], "relu": [((r(4, 5),), {})],
            "linear_backward": [((r(5, 3), r(5, 4), r(3, 4)), {})],
            # with exact zeros in x: torch's gradient there is 0, which `x >= 0` gets wrong
            "relu_backward": [((r(4, 5), r(4, 5) * (r(4, 5) > 0)), {})]}[name]


def _check(name, fn, torch_parts):
    """Raises AssertionError when fn's values differ from torch's on a small float64 case."""
    import torch
    g = torch.Generator().manual_seed(1)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)
    if name == "CrossEntropyLoss":
        x, t = r(6, 10), torch.randint(0, 10, (6,), generator=g)
        mine, ref = fn(), torch_parts["CrossEntropyLoss"]()
        assert _close(mine(x, t), ref(x, t)) and _close(mine.backward(), ref.backward())
    elif name == "SGD":
        _check_sgd(fn, r)
    elif name == "train":
        _check_train(fn, r)
    else:
        for args, kwargs in _cases(name, r):
            got, expected = fn(*args, **kwargs), torch_parts[name](*args, **kwargs)
            if isinstance(expected, tuple):
                assert isinstance(got, (tuple, list)) and len(got) == len(expected)
                assert all(_close(a, e) for a, e in zip(got, expected))
            else:
                assert _close(got, expected)


def _check_sgd(fn, r):
    import torch
    params, grads = [r(3, 2), r(3)], [[r(3, 2), r(3)] for _ in range(3)]
    theirs = [p.clone() for p in params]
    mine_opt, their_opt = fn(params, lr=0.1, momentum=0.9), torch.optim.SGD(theirs, lr=0.1, momentum=0.9)
    for step in grads:
        for opt, ps in ((mine_opt, params), (their_opt, theirs)):
            opt.zero_grad()
            for p, gr in zip(ps, step):
                p.grad = gr.clone()
            opt.step()
    assert all(_close(a, b) for a, b in zip(params, theirs))


def _check_train(fn, r):
    """The loop, with stand-ins that log their calls: a loss per batch, zero_grad before backward."""
    import torch
    calls = []

    class Model:
        def __call__(self, x):
            calls.append("forward")
            return x

        def backward(self, grad):
            calls.append("backward")

    class Loss:
        def __call__(self, out, y):
            calls.append("loss")
            return (out - y).pow(2).mean()

        def backward(self):
            return torch.zeros(1)

    class Opt:
        def zero_grad(self, set_to_none=True):
            calls.append("zero_grad")

        def step(self):
            calls.append("step")
    losses = fn(Model(), Loss(), Opt(), [(r(2), r(2)) for _ in range(3)], 2)
    assert isinstance(losses, list) and len(losses) == 6 and all(isinstance(v, float) for v in losses)
    assert calls.count("step") == 6 and calls.index("zero_grad") < calls.index("backward")


def _not_implemented(error) -> str:
    """Which of the student's functions is still a stub: the innermost frame of the traceback
    (the part checked may be whole, its optimizer's zero_grad not)."""
    if str(error):  # the stubs say which task: "zero_grad: implement SGD.zero_grad in optim.py"
        return f"not implemented yet ({error})"
    import traceback
    frames = traceback.extract_tb(error.__traceback__)
    where = next((f for f in reversed(frames) if f.filename.endswith(".py") and "/kit/" not in f.filename), None)
    if where is None:
        return "not implemented yet"
    code = error.__traceback__
    while code.tb_next is not None:
        code = code.tb_next
    name = getattr(code.tb_frame.f_code, "co_qualname", where.name)
    return f"not implemented yet: {name} ({where.filename.rsplit('/', 1)[-1]}, line {where.lineno})"


def choose_parts(modules, torch_parts):
    """{name: the part used} and [(name, exercise, whose, why)] for the report."""
    chosen, report = {}, []
    for module, name, exercise in PARTS:
        fn, why = getattr(modules.get(module), name, None), ""
        if module not in modules:
            why = modules.get(f"{module}:error") or f"{module}.py could not be imported"
        elif fn is None:
            why = f"{module}.py has no {name}"
        else:
            try:
                _check(name, fn, torch_parts)
            except NotImplementedError as e:
                why = _not_implemented(e)
            except AssertionError:
                why = f"yours differs from torch on a small check: python grader.py {exercise.split()[0]}"
            except Exception as e:  # noqa: BLE001 -- whatever the student's code raised
                why = f"yours raised {type(e).__name__}: {str(e)[:80]}"
        chosen[name] = torch_parts[name] if why else fn
        report.append((name, exercise, "torch's" if why else "yours", why))
    return chosen, report


def install(modules, chosen):
    """Give the student's cnn.py (and the parts' modules) the chosen parts under their names."""
    for module, name, _ in PARTS:
        for where in (modules.get(module), modules.get("cnn")):
            if where is not None and hasattr(where, name):
                setattr(where, name, chosen[name])


def choose_network(modules, chosen, torch_parts):
    """(a factory params -> model, whose, why): the student's CNN if its wiring matches torch's."""
    import torch
    import torch.nn.functional as F
    CNN = getattr(modules.get("cnn"), "CNN", None)  # noqa: N806
    if CNN is None:
        return (lambda params: KitCNN(chosen, *params)), "torch's", modules.get("cnn:error") or "cnn.py has no CNN"
    g = torch.Generator().manual_seed(2)
    params = [torch.randn(*s, generator=g, dtype=torch.float64) for s in
              [(3, 1, 3, 3), (3,), (4, 3, 3, 3), (4,), (5, 4 * 3 * 2), (5,)]]
    x, go = torch.randn(2, 1, 6, 3, generator=g, dtype=torch.float64), torch.randn(2, 5, generator=g, dtype=torch.float64)
    leaves, x_leaf = [p.clone().requires_grad_() for p in params], x.clone().requires_grad_()
    h = torch.relu(F.conv2d(torch.relu(F.conv2d(x_leaf, leaves[0], leaves[1], padding=1)), leaves[2], leaves[3],
                            stride=2, padding=1))
    out = F.linear(h.flatten(1), leaves[4], leaves[5])
    out.backward(go)
    try:
        model = CNN(*params)
        mine = model(x)
        grad_x = model.backward(go)
        ok = _close(mine, out.detach()) and _close(grad_x, x_leaf.grad) and \
            all(_close(p.grad, q.grad) for p, q in zip(params, leaves)) and \
            [id(p) for p in model.parameters()] == [id(p) for p in params]
        why = "" if ok else "your wiring differs from torch on a small check: python grader.py cnn"
    except NotImplementedError as e:
        why = _not_implemented(e)
    except Exception as e:  # noqa: BLE001
        why = f"yours raised {type(e).__name__}: {str(e)[:80]}"
    if why:
        return (lambda params: KitCNN(chosen, *params)), "torch's", why
    return (lambda params: CNN(*params)), "yours", ""


def load_modules(target):
    """Import the student's folder as a package, module by module; a module that fails is noted."""
    package = types.ModuleType(PACKAGE)
    package.__path__ = [target]
    sys.modules[PACKAGE] = package
    modules = {}
    for module in sorted({m for m, _, _ in PARTS} | {"cnn"}):
        if not os.path.exists(os.path.join(target, f"{module}.py")):
            modules[f"{module}:error"] = f"{module}.py is missing"
            continue
        try:
            modules[module] = importlib.import_module(f"{PACKAGE}.{module}")
        except Exception as e:  # noqa: BLE001
            modules[f"{module}:error"] = f"{module}.py could not be imported ({type(e).__name__}: {str(e)[:80]})"
    return modules


# --- the run ----------------------------------------------------------------------------------

def init_params(seed, c1, c2):
    """torch's default initialisation (uniform in +-1/sqrt(fan_in)), from a seed."""
    import torch
    g = torch.Generator().manual_seed(seed)

    def uniform(*shape, fan_in):
        return (torch.rand(*shape, generator=g) * 2 - 1) / math.sqrt(fan_in)
    return [uniform(c1, 1, 3, 3, fan_in=9), uniform(c1, fan_in=9), uniform(c2, c1, 3, 3, fan_in=c1 * 9),
            uniform(c2, fan_in=c1 * 9), uniform(10, c2 * 16, fan_in=c2 * 16), uniform(10, fan_in=c2 * 16)], g


def torch_network(params):
    import torch
    import torch.nn as nn
    c1, c2 = params[0].shape[0], params[2].shape[0]
    net = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.Conv2d(c1, c2, 3, stride=2, padding=1),
                        nn.ReLU(), nn.Flatten(), nn.Linear(c2 * 16, 10))
    with torch.no_grad():
        for p, value in zip(net.parameters(), params):
            p.copy_(value)
    return net


def accuracy(logits, labels):
    return float((logits.argmax(1) == labels).float().mean())


def run(args):
    try:
        return train_side_by_side(args)
    except Exception as e:  # noqa: BLE001 -- raised in the student's code, most likely: say where
        import traceback
        frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(os.path.dirname(__file__))]
        where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}: `{frames[-1].line}`" if frames else ""
        print(f"\nThe run stopped: {type(e).__name__}{where}: {e}\n"
              "python grader.py shows which part fails, on a small case, with a message.")
        return 1


def train_side_by_side(args):
    import torch
    torch.set_num_threads(1)  # these tensors are small: one thread is faster than two
    from . import data
    target = folder(args)
    start = time.perf_counter()
    modules = load_modules(target)
    torch_parts = _torch_parts()
    chosen, report = choose_parts(modules, torch_parts)
    install(modules, chosen)
    make_model, whose_cnn, why_cnn = choose_network(modules, chosen, torch_parts)
    shown_target = os.path.relpath(target) if not os.path.relpath(target).startswith("..") else target
    print(f"Training the capstone CNN on handwritten digits with the parts in {shown_target}, "
          "side by side with torch")
    print("Parts used (yours where finished and matching torch; torch's elsewhere):")
    for name, _exercise, whose, why in report + [("CNN (wiring)", "cnn", whose_cnn, why_cnn)]:
        print(f"  {name:18} {whose:8} {('-- ' + why) if why else ''}")
    print(f"  {sum(w == 'yours' for _, _, w, _ in report) + (whose_cnn == 'yours')} of {len(report) + 1} parts are yours")

    (images, labels), (test_images, test_labels) = data.load()
    params, g = init_params(args.seed, *args.channels)
    epochs, bs = args.epochs, args.batch_size
    orders = [torch.randperm(len(labels), generator=g) for _ in range(epochs)]
    epoch_batches = [[(o[k:k + bs]) for k in range(0, len(labels), bs)] for o in orders]

    mine = [p.clone() for p in params]
    model, criterion = make_model(mine), chosen["CrossEntropyLoss"]()
    optimizer = chosen["SGD"](model.parameters(), lr=args.lr, momentum=args.momentum)
    net = torch_network(params)
    torch_opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)

    start = time.perf_counter()  # --budget is for the training: counted from here
    # the timed probe: one step of your network on a copy, so the real run starts from the same weights
    probe_model = make_model([p.clone() for p in params])
    probe_opt = chosen["SGD"](probe_model.parameters(), lr=args.lr, momentum=args.momentum)
    probe_loss = chosen["CrossEntropyLoss"]()
    batch = epoch_batches[0][0]
    per_epoch, step_seconds = len(epoch_batches[0]), []
    for _ in range(2):  # the second step is the steadier measure, when the first leaves time for it
        t = time.perf_counter()
        chosen["train"](probe_model, probe_loss, probe_opt, [(images[batch], labels[batch])], 1)
        step_seconds.append(time.perf_counter() - t)
        if step_seconds[0] * per_epoch * epochs > args.budget:
            break
    step = min(step_seconds)
    left = args.budget - (time.perf_counter() - start)
    evaluation = step * len(test_labels) / bs / 3  # a forward pass over the held-out digits, each epoch
    need = (step * per_epoch * 1.15 + evaluation) * epochs
    if need > left:
        fits = int((left - evaluation * epochs) / (step * 1.15 * epochs))
        if fits < 5:
            print(f"\nToo slow to train here: one training step of your network takes {step:.2g} s, so "
                  f"{epochs} epochs of {per_epoch} batches would take about {need:.0f} s (the budget is "
                  f"{args.budget:g} s; --budget sets it). Most of it is usually conv2d and conv2d_backward: "
                  "loop over the kernel offsets only, with one vectorised operation over the batch, channels "
                  "and positions for each (python grader.py --hint conv2d).")
            return 1
        print(f"\nNote: one training step of your network takes {step:.2g} s; {epochs} epochs of {per_epoch} "
              f"batches would take about {need:.0f} s, over the budget of {args.budget:g} s. Training on the "
              f"first {fits} batches of each epoch instead (both networks).")
        epoch_batches = [b[:fits] for b in epoch_batches]

    yours, theirs = {"losses": [], "acc": [], "seconds": 0.0}, {"losses": [], "acc": [], "seconds": 0.0}
    print(f"\n{'epoch':>5}  {'your loss':>9} {'acc':>6} {'s':>5}   {'torch loss':>10} {'acc':>6} {'s':>5}")
    for e, batches in enumerate(epoch_batches, 1):
        loader = [(images[b], labels[b]) for b in batches]
        t = time.perf_counter()
        losses = chosen["train"](model, criterion, optimizer, loader, 1)
        with torch.no_grad():
            acc = accuracy(model(test_images), test_labels)
        yours["seconds"] += time.perf_counter() - t
        yours["losses"] += [float(v) for v in losses]
        yours["acc"].append(acc)
        t = time.perf_counter()
        for x, y in loader:
            torch_opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            torch_opt.step()
            theirs["losses"].append(loss.item())
        with torch.no_grad():
            theirs["acc"].append(accuracy(net(test_images), test_labels))
        theirs["seconds"] += time.perf_counter() - t
        n = len(batches)
        print(f"{e:>5}  {sum(yours['losses'][-n:]) / n:9.4f} {yours['acc'][-1]:6.1%} {yours['seconds']:5.1f}   "
              f"{sum(theirs['losses'][-n:]) / n:10.4f} {theirs['acc'][-1]:6.1%} {theirs['seconds']:5.1f}", flush=True)

    gap = max(abs(a - b) for a, b in zip(yours["losses"], theirs["losses"]))
    with torch.no_grad():
        predictions = model(test_images).argmax(1)
    epochs_run = f"{len(epoch_batches)} epoch" + "s" * (len(epoch_batches) != 1)
    print(f"\nHeld-out accuracy after {epochs_run}: yours {yours['acc'][-1]:.1%}, torch's "
          f"{theirs['acc'][-1]:.1%}. The two runs' batch losses differ by at most {gap:.2g}"
          + (" : step for step the same training." if gap < 1e-3 else
             " : they drifted apart; python grader.py shows which part differs from torch."))
    pictures(args, yours, theirs, test_images, test_labels, predictions)
    return 0


# --- pictures -----------------------------------------------------------------------------------

def pictures(args, yours, theirs, test_images, test_labels, predictions, shown=16):
    wrong = [int(k) for k in (predictions != test_labels).nonzero().flatten()[:shown // 4]]
    first = [k for k in range(len(test_labels)) if k not in wrong][:shown - len(wrong)]
    picked = sorted(first + wrong)  # the first digits, and a few it got wrong
    test_images, test_labels, predictions = test_images[picked], test_labels[picked], predictions[picked]
    try:
        if args.text:
            raise ImportError
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print()
        print(text_curves(yours["losses"], theirs["losses"]))
        print()
        print(text_digits(test_images[:shown], test_labels[:shown], predictions[:shown]))
        if not args.text:
            print("\n" + M.NO_MATPLOTLIB.format(path=args.png))
        return
    fig = plt.figure(figsize=(11, 4.5))
    grid = fig.add_gridspec(2, 2 + shown // 2, width_ratios=[4, 0.3] + [1] * (shown // 2))
    ax = fig.add_subplot(grid[:, 0])
    ax.plot(theirs["losses"], label="torch", color="tab:orange", linewidth=3, alpha=0.5)
    ax.plot(yours["losses"], label="yours", color="tab:blue", linewidth=1)
    ax.set_xlabel("step (batch)")
    ax.set_ylabel("cross-entropy loss")
    ax.set_yscale("log")
    ax.set_title(f"training loss; held-out accuracy {yours['acc'][-1]:.1%} (torch {theirs['acc'][-1]:.1%})",
                 fontsize=9)
    ax.legend()
    for k in range(shown):
        sub = fig.add_subplot(grid[k // (shown // 2), 2 + k % (shown // 2)])
        sub.imshow(test_images[k, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
        right = int(predictions[k]) == int(test_labels[k])
        sub.set_title(f"{int(predictions[k])}" + ("" if right else f" (is {int(test_labels[k])})"),
                      color="green" if right else "red", fontsize=9)
        sub.axis("off")
    fig.suptitle("your network's predictions on held-out digits", x=0.72, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.png, dpi=100)
    plt.close(fig)
    print(f"\nLoss curves and predictions: {args.png}")


def text_curves(mine, theirs, width=60, height=10):
    """Both loss curves in characters: * yours, o torch's, @ where they coincide (log scale)."""
    def buckets(values):
        step = max(1, math.ceil(len(values) / width))
        return [sum(values[k:k + step]) / len(values[k:k + step]) for k in range(0, len(values), step)]
    a, b = buckets(mine), buckets(theirs)
    top, low = math.log(max(a + b)), math.log(max(min(a + b), 1e-6))
    span = max(top - low, 1e-9)

    def row(v):
        return min(height - 1, int((top - math.log(max(v, 1e-6))) / span * (height - 1) + 0.5))
    lines = [[" "] * len(a) for _ in range(height)]
    for k, (x, y) in enumerate(zip(a, b)):
        lines[row(y)][k] = "o"
        lines[row(x)][k] = "@" if row(x) == row(y) else "*"
    out = ["training loss (log scale), * yours, o torch's, @ both:"]
    for r, line in enumerate(lines):
        label = f"{math.exp(top - r / (height - 1) * span):7.3f}" if r in (0, height - 1) else " " * 7
        out.append(f"{label} |{''.join(line)}")
    out.append(" " * 8 + "+" + "-" * len(a) + f"> {len(mine)} steps")
    return "\n".join(out)


def text_digits(images, labels, predictions, per_row=8):
    """Held-out digits in characters, each with your network's answer (and the truth when wrong)."""
    shades = " .:-=+*#%@"
    out = ["your network's answers on held-out digits ([7] right, 7!1 wrong: said 7, is 1):"]
    for start in range(0, len(images), per_row):
        chunk = range(start, min(start + per_row, len(images)))
        for r in range(8):
            out.append("  ".join("".join(shades[min(9, int(float(images[k, 0, r, c]) * 9.99))] for c in range(8))
                                 for k in chunk))
        out.append("  ".join((f"[{int(predictions[k])}]" if int(predictions[k]) == int(labels[k])
                              else f"{int(predictions[k])}!{int(labels[k])}").center(8) for k in chunk))
        out.append("")
    return "\n".join(out).rstrip()


if __name__ == "__main__":
    sys.exit(main())
