"""The operating system's walls around student code (Linux): namespaces, mounts, seccomp, limits.

Nothing here trusts Python: every wall is kept by the kernel, so no object that student code
can reach can take it down. Three steps, in three processes:

  enter(...)     in the first zygote process, before torch is imported (it starts threads, and a
                 process with threads cannot enter a user namespace): new user, mount, network,
                 PID, IPC and UTS namespaces; the read-only view of the file system is built here.
  settle()       in the second zygote process, PID 1 of the new PID namespace: its own /proc,
                 pivot into the new root, become the namespace's (capability-less later) user.
  lock(...)      in each worker, after the fork and before any byte of student code: a private
                 scratch folder, resource limits, no new privileges, no capabilities, the seccomp filter.

The view holds only what Python and torch need (the standard library, site-packages, the
system libraries, this folder) at the paths they have outside; everything else -- the kit
checkout, solutions, private tests, home directories, other processes -- is simply not there.
Any step that the system refuses raises Unavailable with the reason: the grader then runs in
practice mode (not sandboxed) and says so in every report.
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
NOBODY = 65534  # whom the namespace's root is outside, when the grader runs as root
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/etc/ld.so.cache")
DEVICES = ("null", "zero", "full", "random", "urandom")
SCRATCH = "/worker-tmp"  # each worker's private scratch folder ($TMPDIR): not /tmp, where a view may hold files
SCRATCH_BYTES = 16 << 20  # its size, and the largest file a worker may write
SCRATCH_FILES = 1024  # and how many files it holds (each costs kernel memory no limit counts)
_SYSCALLS = {"x86_64": {"pivot_root": 155, "capset": 126}, "aarch64": {"pivot_root": 41, "capset": 91}}


class Unavailable(Exception):
    """The system offers no sandbox here (the message says what is missing)."""


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.unshare.argtypes = [ctypes.c_int]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    libc.syscall.restype = ctypes.c_long
    return libc


_LIBC = _libc()


def _check(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise Unavailable(f"{what}: {os.strerror(err)}")
    return result


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _check(_LIBC.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def prctl(option, arg=0):
    return _check(_LIBC.prctl(option, arg, 0, 0, 0), f"prctl {option}")


def die_with_parent():
    """End this process when its parent ends: nothing outlives a grader that was killed."""
    import signal
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _syscall(name, *args):
    numbers = _SYSCALLS.get(os.uname().machine)
    if numbers is None:
        raise Unavailable(f"no sandbox for {os.uname().machine} processors")
    return _check(_LIBC.syscall(ctypes.c_long(numbers[name]), *args), name)


# -- step 1: the first zygote process --------------------------------------------------------------

def visible_paths(search_path: list[str], worker_dir: str, hidden: list[str]) -> list[str]:
    """What the view holds: system libraries, Python's own search path, this folder.

    A search-path entry that holds or lies inside a hidden folder (the kit checkout, the
    solutions, private tests, the submission) is left out, unless it is a site-packages
    folder (a virtual environment kept inside the checkout shows only its packages).
    """
    hidden = [os.path.realpath(h) for h in hidden]
    keep = [p for p in SYSTEM_PATHS if os.path.lexists(p)]
    for entry in search_path:
        path = os.path.realpath(entry or ".")
        if not os.path.isdir(path):
            continue
        inside = any(path == h or path.startswith(h + os.sep) for h in hidden)
        holds = any(h.startswith(path + os.sep) for h in hidden)
        if holds or (inside and "site-packages" not in path.split(os.sep)):
            continue
        keep.append(path)
    keep.append(os.path.realpath(worker_dir))
    # the shortest first, and nothing twice: a folder inside one already shown comes with it
    result = []
    for path in sorted(set(keep), key=len):
        if not any(path.startswith(p + os.sep) for p in result if not os.path.islink(p)):
            result.append(path)
    return result


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _map_ids_from_outside(pid):
    """A root grader maps the namespace's root to nobody. Only a process still outside the
    namespace, with root's rights there, may write such a map: a child forked before unshare."""
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_w)
        try:
            os.read(ready_r, 1)
            _write(f"/proc/{pid}/uid_map", f"0 {NOBODY} 1\n")
            _write(f"/proc/{pid}/gid_map", f"0 {NOBODY} 1\n")
        except BaseException:
            os._exit(1)
        os._exit(0)
    os.close(ready_r)
    return child, ready_w


def _mount_flags(path):
    """The flags of the mount that holds path: a bind mount in a user namespace must keep them."""
    f = os.statvfs(path).f_flag
    return (MS_NOEXEC if f & os.ST_NOEXEC else 0) | (f & (os.ST_NOATIME | os.ST_NODIRATIME | os.ST_RELATIME))


def enter(root: str, paths: list[str]) -> None:
    """New namespaces for this process and its children; `root` (an empty folder) becomes
    the new root file system, holding `paths` read-only. Call before any thread exists."""
    if not os.path.exists("/proc/self/ns/user"):
        raise Unavailable("this kernel has no user namespaces")
    uid, gid = os.geteuid(), os.getegid()
    mapper = _map_ids_from_outside(os.getpid()) if uid == 0 else None
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    try:
        _check(_LIBC.unshare(flags), "creating namespaces (user namespaces may be switched off here)")
    finally:
        if mapper:
            os.close(mapper[1])  # lets the mapper go on (or, on failure, end)
    if mapper:
        _, status = os.waitpid(mapper[0], 0)
        if status != 0:
            raise Unavailable("could not map the namespace's user to nobody")
    else:  # an unprivileged grader maps its own user, the only one it may
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1\n")
        _write("/proc/self/gid_map", f"0 {gid} 1\n")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the outside
    # Until the user changes below, this process keeps its outside identity: it opens now
    # what it will show, even inside folders only that user may enter (/root).
    shown = [(path, _kind(path)) for path in paths]
    shown += [(f"/dev/{d}", ("device", os.open(f"/dev/{d}", os.O_PATH), 0)) for d in DEVICES
              if os.path.exists(f"/dev/{d}")]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755,uid=0,gid=0")
    os.chdir(root)
    os.setresgid(0, 0, 0)
    if uid == 0:
        os.setgroups([])  # no supplementary group of the grader's comes along
    os.setresuid(0, 0, 0)  # from here on: nobody outside (or the grader's own user)
    for path, (kind, handle, extra) in shown:
        target = "." + path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if kind == "link":
            os.symlink(handle, target)
            continue
        if kind == "dir":
            os.makedirs(target, exist_ok=True)
        else:
            _write(target, "")
        _mount(f"/proc/self/fd/{handle}", target, None, MS_BIND)
        if kind != "device":
            _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | extra)
        os.close(handle)
    for folder in ("proc", SCRATCH[1:], "old"):
        os.makedirs(folder, exist_ok=True)


def _kind(path):
    """(kind, an O_PATH descriptor or a link's text, the mount flags a bind must keep)."""
    if os.path.islink(path):
        return "link", os.readlink(path), 0
    fd = os.open(path, os.O_PATH)
    return ("dir" if os.path.isdir(path) else "file"), fd, _mount_flags(path)


# -- step 2: PID 1 of the new PID namespace -------------------------------------------------------

def settle() -> str:
    """Its own /proc, then the new root; returns a note on anything left out (or "")."""
    note = ""
    prctl(PR_SET_DUMPABLE, 0)  # with hidepid, the workers cannot even list the zygote in /proc
    try:
        _mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
    except Unavailable as e:  # a container may refuse a second /proc: the view has none then
        note = f"no /proc ({e})"
    _syscall("pivot_root", b".", b"old")
    _check(_LIBC.umount2(b"/old", MNT_DETACH), "detaching the old root")
    os.chdir("/")
    os.rmdir("/old")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return note


# -- step 3: each worker, before student code -------------------------------------------------

def _address_space():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 8 << 30


def _noexec_everywhere():
    """No file this worker can reach may become code: a library written to the scratch folder,
    or one of the view's that the zygote did not load, cannot be loaded (the kernel refuses
    to map a file executable from a noexec mount), so the native code in the worker is the
    zygote's, which seal.py has gone through."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    for point in sorted(set(points), key=len):
        if point == "/proc" or point.startswith("/proc/"):
            continue  # hidden below
        flags = os.statvfs(point).f_flag
        kept = (MS_RDONLY if flags & os.ST_RDONLY else 0) | (flags & (os.ST_NOATIME | os.ST_NODIRATIME | os.ST_RELATIME))
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC | kept)


def lock(memory_bytes: int, cpu_seconds: int, hide=(), files: int = 256) -> int:
    """A private scratch folder, limits, no privileges, and the seccomp filter.

    hide: files and folders this worker must not read (the source of what its rules forbid).
    /proc goes too: its own /proc/self/mem and maps would let code rewrite the process's
    memory, the rules' included. Returns a descriptor of /proc/self/mem, opened before /proc
    went, for seal.apply (the caller's, once this function's ctypes objects are gone)."""
    import seal
    _check(_LIBC.unshare(CLONE_NEWNS), "a private mount namespace")
    _mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
           f"size={SCRATCH_BYTES},nr_inodes={SCRATCH_FILES},mode=1777")
    _noexec_everywhere()
    for path in hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
    address_space = _address_space()
    prctl(PR_SET_DUMPABLE, 1)  # a process that is not dumpable may not open its own memory...
    memory = seal.open_memory()
    if os.path.exists("/proc/self"):
        _check(_LIBC.umount2(b"/proc", MNT_DETACH), "hiding /proc")
    limits = {resource.RLIMIT_AS: address_space + memory_bytes, resource.RLIMIT_CORE: 0,
              resource.RLIMIT_FSIZE: SCRATCH_BYTES, resource.RLIMIT_NOFILE: files,
              resource.RLIMIT_CPU: cpu_seconds, resource.RLIMIT_MEMLOCK: 0}
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_DUMPABLE, 0)  # ...and from here on, nothing else may open it
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in range(64):
        if _LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() == errno.EINVAL:
            break
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    _syscall("capset", header, data)
    import seccomp_filter
    seccomp_filter.load(os.getpid())
    return memory
