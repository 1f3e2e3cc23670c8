"""The operating system's walls around student code, tested without the Python-level guards.

`inside(code)` runs `code` as the body of a function in a worker whose in-process guards are
switched off (Zygote(python_guards=False)), so each test sees what the kernel alone enforces.
Each wall was checked by removing it (jail.lock without seccomp, enter without the view, ...)
and watching its test fail.
"""
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from kit_support import ROOT, SOLUTIONS, build_submission

from kit import messages as M
from kit.sandbox import Sandbox, Zygote

SECRET = "GRADER_TEST_SECRET_TOKEN"


def as_nobody(needed):
    """A launcher that runs a command as nobody, with no capability: CI runs as root, so this is
    how the sandbox is also tested as an unprivileged user. In a private mount namespace, each
    closed folder on the way to `needed`, or `needed` itself (pyenv under /root, a checkout in a
    0700 temporary folder), is covered by a tmpfs (mode 755) holding binds of all its entries;
    the machine itself is not touched, but for the empty folders the binds start from."""
    shell, done = ["set -e"], set()
    for path in needed:
        parts = os.path.realpath(path).split(os.sep)
        for k in range(2, len(parts) + 1):
            folder = os.sep.join(parts[:k])
            if folder in done or os.stat(folder).st_mode & 0o001:
                continue
            done.add(folder)
            keep = f"/tmp/unprivileged-{len(done)}-{os.getpid()}"
            shell += [f"mkdir -p {keep}", f"mount --bind {folder} {keep}", f"mount -t tmpfs -o mode=755 tmpfs {folder}"]
            for name in sorted(os.listdir(os.path.join(folder))):
                entry, kept = shlex.quote(os.path.join(folder, name)), shlex.quote(os.path.join(keep, name))
                if os.path.islink(os.path.join(folder, name)):
                    shell.append(f"ln -s {shlex.quote(os.readlink(os.path.join(folder, name)))} {entry}")
                    continue
                shell.append(f"mkdir {entry}" if os.path.isdir(os.path.join(folder, name)) else f"touch {entry}")
                shell.append(f"mount --bind {kept} {entry}")
    shell.append('exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(shell), "sh"]


@pytest.fixture(scope="module", params=["as the grading user", "as nobody"])
def walls(request):
    os.environ[SECRET] = "s3cr3t"  # the grader's environment must not reach the worker
    launcher = ()
    if request.param == "as nobody":
        if os.geteuid() != 0:
            pytest.skip("the grading user is not root: the first run was already unprivileged")
        launcher = as_nobody([sys.prefix, sys.base_prefix, ROOT])
    z = Zygote(python_guards=False, launcher=launcher)
    yield z
    z.close()
    del os.environ[SECRET]


@pytest.fixture
def inside(walls, tmp_path):
    count = iter(range(100))

    def run(code, timeout=30):
        body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
        folder = build_submission(tmp_path / f"s{next(count)}", [("forward", f"def probe():\n{body}")])
        with open(os.path.join(folder, "secret.txt"), "w") as f:
            f.write("answers")
        box = Sandbox(folder, timeout, zygote=walls)
        try:
            outcome = box.run(["forward"], "call", module="forward", name="probe")
        finally:
            box.close()
        assert outcome.kind in ("value", "error"), outcome
        return outcome.value if outcome.kind == "value" else outcome.error
    return run


def test_the_system_here_gives_a_sandbox(walls):
    # CI runs on Linux with user namespaces and libseccomp: grading there must be sandboxed
    assert walls.sandbox_note == ""
    with open(f"/proc/{walls.process.pid}/status") as f:
        uid = next(line.split()[1] for line in f if line.startswith("Uid:"))
    # a root grader's sandbox is nobody outside; an unprivileged one's is that user
    assert uid == ("65534" if os.geteuid() == 0 else str(os.geteuid()))


def test_only_its_own_process_is_visible(inside):
    # a worker has no /proc at all (its own /proc/self/mem could rewrite its memory)
    assert inside("import os\nreturn [os.listdir('/proc'), os.path.exists('/proc/self/mem')]") == [[], False]


@pytest.mark.parametrize("path", [SOLUTIONS, os.path.join(ROOT, "tests"), os.path.join(ROOT, ".git"),
                                  os.path.join(ROOT, "manifest.toml"), os.path.join(ROOT, "kit", "sandbox.py"),
                                  "/etc/passwd", "/etc/hostname", os.path.expanduser("~/.bashrc")])
def test_the_kit_and_the_machine_are_not_visible(inside, path):
    assert inside(f"import os\nreturn os.path.lexists({path!r})") is False


def test_the_submission_folder_is_not_visible_only_its_modules(inside, tmp_path):
    folder = str(tmp_path / "s0")
    assert inside(f"import os\nreturn [os.path.exists({folder!r}), __file__]") == [False, "/submission/forward.py"]


@pytest.mark.parametrize("path", ["/usr/lib/x", os.path.join(os.path.dirname(os.__file__), "x.py"), "/x",
                                  os.path.join(ROOT, "kit", "worker", "guards.py")])
def test_nothing_outside_the_scratch_folder_can_be_written(inside, path):
    result = inside(f"open({path!r}, 'a').write('x')")
    assert result["type"] in ("OSError", "PermissionError", "FileNotFoundError"), result


def test_the_scratch_folder_is_private_and_bounded(inside):
    assert inside("import os\nopen(os.environ['TMPDIR'] + '/a', 'w').write('x' * 1000)\nreturn 1") == 1
    assert inside("import os\nreturn os.listdir(os.environ['TMPDIR'])") == []  # a fresh one each worker
    result = inside("import os\nopen(os.environ['TMPDIR'] + '/big', 'wb').write(b'x' * (64 << 20))")
    assert result["type"] == "OSError", result


@pytest.mark.parametrize("code", [
    "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)",
    "import socket\nsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
    "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)",
])
def test_no_network(inside, code):
    assert inside(code)["type"] == "PermissionError"


@pytest.mark.parametrize("code, error", [
    ("import os\nos.fork()", "PermissionError"),
    ("import subprocess\nsubprocess.run(['/bin/true'])", "PermissionError"),
    ("import os\nos.posix_spawn('/bin/true', ['true'], {})", "PermissionError"),
    ("import threading\nthreading.Thread(target=print).start()", "RuntimeError"),
    ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
     "if libc.syscall(56, 17, 0, 0, 0, 0) < 0:\n    raise PermissionError(ctypes.get_errno())", "PermissionError"),
])
def test_no_processes_and_no_threads(inside, code, error):
    assert inside(code)["type"] == error


@pytest.mark.parametrize("code", [
    "import os\nos.kill(1, 9)",
    f"import os\nos.kill({os.getpid()}, 9)",
    "import os, signal\nos.killpg(0, signal.SIGKILL)",
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"  # ptrace(PTRACE_ATTACH, 1)
    "if libc.ptrace(16, 1, 0, 0) < 0:\n    raise PermissionError(ctypes.get_errno())",
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"  # unshare(CLONE_NEWUSER)
    "if libc.unshare(0x10000000) < 0:\n    raise PermissionError(ctypes.get_errno())",
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"  # io_uring_setup: its operations bypass seccomp
    "if libc.syscall(425, 8, ctypes.create_string_buffer(120)) < 0:\n    raise PermissionError(ctypes.get_errno())",
])
def test_no_other_process_can_be_touched(inside, code):
    assert inside(code)["type"] in ("PermissionError", "ProcessLookupError")


def test_the_graders_environment_stays_outside(inside):
    env = inside("import os\nreturn dict(os.environ)")
    assert SECRET not in env and "PYTHONPATH" not in env and env["CUDA_VISIBLE_DEVICES"] == ""


def test_memory_the_limits_do_not_count_cannot_be_made(inside):
    assert inside("import os\nos.memfd_create('x')")["type"] == "PermissionError"


def test_memory_and_limits_are_bounded(inside):
    assert inside("return len(bytearray(16 << 30))")["type"] == "MemoryError"
    result = inside("import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))")
    assert result["type"] in ("ValueError", "PermissionError")


def test_a_reply_far_larger_than_the_case_is_refused(zygote, tmp_path):
    folder = build_submission(tmp_path / "s", [("forward", "def relu(x):\n    return torch.zeros(64 << 20)")])
    box = Sandbox(folder, 30, zygote=zygote)
    import torch
    outcome = box.run(["forward"], "call", module="forward", name="relu", args=(torch.ones(3),))
    box.close()
    assert outcome.kind == "broken" and "far more than this case asks for" in outcome.detail


def test_a_symlinked_module_is_not_followed(grade, tmp_path):
    folder = build_submission(tmp_path / "s")
    os.remove(os.path.join(folder, "forward.py"))
    os.symlink(os.path.join(SOLUTIONS, "forward.py"), os.path.join(folder, "forward.py"))
    report = grade(folder, exercises=["forward"])
    assert report.score == 0 and "must be a regular file" in report.exercises[0].first_failure.message


def _zygote_pid(zygote):
    """The zygote proper: the first process's only child."""
    with open(f"/proc/{zygote.process.pid}/task/{zygote.process.pid}/children") as f:
        return int(f.read().split()[0])


@pytest.mark.parametrize("how", [signal.SIGSTOP, signal.SIGKILL])
def test_a_frozen_or_killed_zygote_is_replaced(how):
    import torch
    zygote = Zygote(answer_timeout=2)
    box = Sandbox(SOLUTIONS, 10, zygote=zygote)
    try:
        args = dict(module="forward", name="relu", args=(torch.tensor([-1.0, 1.0]),))
        assert box.run(["forward"], "call", **args).kind == "value"
        old = zygote.process
        os.kill(_zygote_pid(zygote), how)
        start = time.monotonic()
        box.recycle()  # asks the zygote to end the worker: no answer within 2 s, so it is replaced
        assert box.run(["forward"], "call", **args).kind == "value"  # a fresh zygote took over
        assert zygote.process is not old and old.poll() is not None
        assert time.monotonic() - start < 60
    finally:
        box.close()
        zygote.close()


def test_practice_mode_is_said_and_refused_where_grades_count(tmp_path):
    env = {**os.environ, "GRADER_SANDBOX": "off"}
    grader = os.path.join(ROOT, "grader.py")
    practice = subprocess.run([sys.executable, grader, "forward", "--solutions", "--json", str(tmp_path / "r.json")],
                              env=env, capture_output=True, text=True, timeout=300)
    assert practice.returncode == 0 and M.PRACTICE_MODE.format(reason=M.SANDBOX_SWITCHED_OFF) in practice.stdout
    assert '"sandboxed": false' in (tmp_path / "r.json").read_text()
    for flags in (["--require-sandbox"], ["--gradescope", str(tmp_path / "g.json")], ["--tests", os.path.join(ROOT, "tests", "grading")]):
        refused = subprocess.run([sys.executable, grader, "forward", "--solutions", *flags], env=env,
                                 capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2 and "must be sandboxed" in refused.stderr, flags
    allowed = subprocess.run([sys.executable, grader, "forward", "--solutions", "--require-sandbox",
                              "--allow-unsandboxed"], env=env, capture_output=True, text=True, timeout=300)
    assert allowed.returncode == 0 and "practice mode" in allowed.stdout


UNPRIVILEGED_PROBE = """
import os, sys
sys.path.insert(0, {root!r})
import torch
from kit.sandbox import Sandbox, Zygote
z = Zygote(python_guards=False)
box = Sandbox({solutions!r}, 30, zygote=z)
out = box.run(["forward"], "call", module="forward", name="relu", args=(torch.tensor([-1.0, 2.0]),))
print("uid", os.getuid(), "note", repr(z.sandbox_note), "relu", out.value.tolist())
box.close()
box = Sandbox({folder!r}, 30, zygote=z)
print("walls", box.run(["forward"], "call", module="forward", name="probe").value)
box.close(); z.close()
"""
WALLS = """
import os, socket
def probe():
    seen = []
    for attempt in (os.fork, lambda: socket.socket(), lambda: os.kill(1, 9),
                    lambda: open("/usr/x", "w"), lambda: os.listdir({solutions!r})):
        try:
            attempt()
            seen.append("allowed")
        except OSError as e:
            seen.append(type(e).__name__)
    return [seen, os.listdir("/proc") == []]
"""


def test_the_sandbox_works_for_an_unprivileged_user(tmp_path):
    """CI runs as root: drop to nobody, in a private mount namespace where the folders that
    hold Python (pyenv under /root, 0700) are made passable, without touching the machine."""
    script = tmp_path / "probe.py"
    folder = build_submission(tmp_path / "s", [("forward", WALLS.format(solutions=SOLUTIONS))])
    script.write_text(UNPRIVILEGED_PROBE.format(root=ROOT, solutions=SOLUTIONS, folder=folder, probe=""))
    for path in (tmp_path, folder):
        os.chmod(path, 0o755)
    for name in os.listdir(folder):
        os.chmod(os.path.join(folder, name), 0o644)
    os.chmod(script, 0o644)
    command = [sys.executable, "-B", str(script)]
    if os.geteuid() == 0:  # the whole grader, not only its zygote, as nobody
        command = as_nobody([sys.prefix, sys.base_prefix, ROOT, str(tmp_path)]) + ["env", "HOME=/tmp", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd="/tmp")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "note ''" in result.stdout and "relu [0.0, 2.0]" in result.stdout
    walls = "['PermissionError', 'PermissionError', 'PermissionError', 'OSError', 'FileNotFoundError'], True"
    assert f"walls [{walls}]" in result.stdout, result.stdout
    assert os.geteuid() != 0 or "uid 65534" in result.stdout


def test_lent_memory_cannot_be_shrunk_under_the_grader(tmp_path):
    """Shrinking the memory the grader lends would kill the grader (SIGBUS) when it reads it back:
    the memory is sealed at its size."""
    attack = ("def relu(x):\n    import sys\n    y = x.clamp(min=0)\n    try:\n"
              "        sys.modules['shared']._attached[0].resize(0)\n    except BaseException:\n        pass\n"
              "    return y\n")
    folder = build_submission(tmp_path / "s", [("forward", attack)])
    result = subprocess.run([sys.executable, os.path.join(ROOT, "grader.py"), "forward", "--submission", folder,
                             "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Total: 10/10" in result.stdout, result.stdout + result.stderr[-2000:]


def test_lent_memory_is_given_back_after_each_test(grade):
    """One descriptor per lent case would run a long --batch lane out of descriptors."""
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        grade(SOLUTIONS, exercises=["forward", "zero_grad", "sgd"])
    assert len(os.listdir("/proc/self/fd")) - before < 5


def test_the_training_loops_stand_ins_take_only_batch_sized_tensors(grade, tmp_path):
    """The stand-ins live in the grader: a huge broadcast there would be the grader's memory."""
    loop = ("def train(model, criterion, optimizer, loader, num_epochs):\n"
            "    y = loader[0][1]\n"
            "    criterion(torch.zeros(1, 16000, dtype=y.dtype), torch.zeros(16000, 1, dtype=y.dtype))\n")
    folder = build_submission(tmp_path / "s", [("training_loop", "import torch\n" + loop)])
    report = grade(folder, exercises=["training_loop"])
    assert report.score == 0 and "not a batch's x, y or output" in report.exercises[0].first_failure.message


def test_workers_share_no_channel_and_know_no_paths(inside):
    # the output file is append-only for each worker: what one printed, the next cannot read
    assert inside("import os\nos.pread(1, 100, 0)")["type"] == "OSError"
    assert inside("import sys\nreturn sys.argv[1:]") == []


@pytest.mark.parametrize("code", [
    "import os, fcntl\nr, w = os.pipe()\nfcntl.fcntl(r, fcntl.F_SETOWN, 1)",
    "import os, fcntl\nr, w = os.pipe()\nfcntl.fcntl(r, 10, 2)",  # F_SETSIG
])
def test_no_signal_through_a_descriptors_owner(inside, code):
    assert inside(code)["type"] == "PermissionError"


def test_the_scratch_folder_holds_few_files(inside):
    code = "import os\nfor k in range(5000):\n    open(f\"{os.environ['TMPDIR']}/{k}\", 'w').close()"
    assert inside(code)["type"] == "OSError"


@pytest.mark.parametrize("module", ["torch.optim.sgd", "torch._decomp.decompositions"])
def test_what_the_rules_forbid_cannot_be_read_in_any_worker(inside, module):
    """Not even where no rule applies: that worker could pass the code on."""
    code = f"import importlib\nm = importlib.import_module({module!r})\nreturn open(m.__file__).read()"
    assert inside(code)["type"] == "FileNotFoundError"
