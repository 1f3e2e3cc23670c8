"""The system calls a worker may not make, refused by the kernel (seccomp, through libseccomp).

A worker computes: it needs memory, files it may read, the pipe to the grader and its own
process. Everything that would reach beyond that is refused with an error, whatever the
route to it -- Python, torch's C++, numpy, a library loaded with ctypes:
- creating processes or threads (clone, fork, vfork, execve): one thread means the grader's
  checks see every call, and nothing can be left running after the worker ends;
- signalling, tracing or reading the memory of any process but itself (kill and its kin, and
  a descriptor's owner, which the kernel signals: F_SETOWN, F_SETSIG);
- sockets (no network even if a namespace were missing), io_uring (its operations bypass
  this filter), BPF, perf, keys, userfaultfd;
- mounting, namespaces, chroot, kernel modules, rebooting, raising another process's limits.
The filter is inherited by nothing (nothing can be created) and cannot be removed.
"""
from __future__ import annotations

import ctypes
import errno

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE, SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ = 1, 4, 7
TIOCSTI = 0x5412
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
FIOSETOWN, SIOCSPGRP = 0x8901, 0x8902


def SCMP_ACT_ERRNO(code: int) -> int:  # noqa: N802 (libseccomp's name)
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


REFUSED = (
    # processes and threads
    "fork", "vfork", "clone", "execve", "execveat",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_open",
    "pidfd_send_signal", "pidfd_getfd", "kcmp", "migrate_pages", "move_pages",
    # the network and kernel interfaces a computation never needs
    "socket", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "fanotify_init",
    # memory that the address-space limit would not count
    "memfd_create", "memfd_secret",
    # the file system's shape and the machine
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "mount_setattr", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mknod", "mknodat", "name_to_handle_at",
    "open_by_handle_at", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl",
    "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "personality",
)
SELF_ONLY = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")  # first argument: a pid


class Unavailable(Exception):
    pass


_LIB = []  # loaded once, in the first zygote process; every fork inherits it


def _library():
    if _LIB:
        return _LIB[0]
    try:  # by its soname: ctypes.util.find_library would run gcc or ldconfig
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        raise Unavailable("libseccomp is not installed (Debian/Ubuntu: apt-get install libseccomp2)") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    _LIB.append(lib)
    return lib


def available() -> str:
    """"" when a filter can be loaded here, else what is missing."""
    try:
        _library()
    except Unavailable as e:
        return str(e)
    return ""


def load(own_pid: int) -> None:
    lib = _library()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise Unavailable("seccomp_init failed")

    def rule(action, name, *conditions):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            return  # this processor has no such call (fork on arm64, say)
        array = (_ArgCmp * max(1, len(conditions)))(*conditions)
        if lib.seccomp_rule_add_array(ctx, action, nr, len(conditions), array) != 0:
            raise Unavailable(f"seccomp rule for {name} was refused")
    try:
        refuse = SCMP_ACT_ERRNO(errno.EPERM)
        for name in REFUSED:
            rule(refuse, name)
        # glibc starts threads with clone3 first and falls back to clone on ENOSYS, refused above
        rule(SCMP_ACT_ERRNO(errno.ENOSYS), "clone3")
        for name in SELF_ONLY:
            rule(refuse, name, _ArgCmp(0, SCMP_CMP_NE, own_pid, 0))
        rule(refuse, "prlimit64", _ArgCmp(0, SCMP_CMP_NE, 0, 0))
        rule(refuse, "ioctl", _ArgCmp(1, SCMP_CMP_MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
        # a descriptor's owner gets SIGIO (or any signal F_SETSIG names): another way to signal
        for command in (F_SETOWN, F_SETOWN_EX, F_SETSIG):
            rule(refuse, "fcntl", _ArgCmp(1, SCMP_CMP_EQ, command, 0))
        for command in (FIOSETOWN, SIOCSPGRP):
            rule(refuse, "ioctl", _ArgCmp(1, SCMP_CMP_MASKED_EQ, 0xFFFFFFFF, command))
        if lib.seccomp_load(ctx) != 0:
            raise Unavailable("the seccomp filter could not be loaded")
    finally:
        lib.seccomp_release(ctx)
