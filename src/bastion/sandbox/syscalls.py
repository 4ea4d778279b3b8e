"""Which system calls a job may make: the allow-list, the relaxable groups, the hard denials.

Pure data; :mod:`bastion.sandbox.seccomp` compiles it. The allow-list follows Docker's
default seccomp profile (the calls an unprivileged container needs, which every common build
tool has been run against for years), minus what Bastion denies outright below, plus the few
newer calls a current libc makes (``fchmodat2``, ``cachestat``). Anything not listed fails
with ``EPERM``, so a tool sees an ordinary "operation not permitted" and can fall back.

Denied although Docker's list has them: ``io_uring_*`` (a large, often-exploited kernel
surface that bypasses seccomp for the operations it queues), ``ptrace`` and
``process_vm_readv``/``process_vm_writev`` (the :attr:`SyscallGroup.PTRACE` group, relaxable).
Denied as in Docker: keyrings (``keyctl``, ``add_key``, ``request_key``), ``bpf``,
``perf_event_open`` (:attr:`SyscallGroup.PERF`, relaxable), ``userfaultfd``, ``kexec_*``,
``*_module``, ``mount``/``umount2``/``pivot_root`` and the new mount API, ``swapon``/
``swapoff``, ``reboot``, ``setns``, and ``clone``/``unshare`` with any namespace flag (so no
new user namespace, from which the others would become reachable).

About ptrace: every job has its own PID namespace and its own uid, so even a relaxed ptrace
reaches only the job's own processes; it is denied by default because a build never needs it
and it is the usual first step of an exploit chain.
"""

from __future__ import annotations

import enum

__all__ = [
    "ALLOWED",
    "ALWAYS_DENIED",
    "NAMESPACE_FLAGS",
    "PERSONALITIES",
    "SyscallGroup",
    "group_syscalls",
]


class SyscallGroup(enum.StrEnum):
    """A named set of system calls a trusted job may be given back (``limits: syscalls:``)."""

    PTRACE = "ptrace"
    PERF = "perf"


def group_syscalls(group: SyscallGroup) -> tuple[str, ...]:
    """The system calls ``group`` allows."""
    match group:
        case SyscallGroup.PTRACE:
            # Debuggers (gdb, strace) and profilers that read another process's memory.
            return ("ptrace", "process_vm_readv", "process_vm_writev")
        case SyscallGroup.PERF:
            return ("perf_event_open",)


# clone(2)/unshare(2) flags that make a namespace: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
# NEWUSER, NEWPID, NEWNET (Docker's mask). CLONE_NEWUSER is the one that matters: the others
# need CAP_SYS_ADMIN, which a job gets back only inside a new user namespace.
NAMESPACE_FLAGS = 0x7E020000

# personality(2) values allowed (as Docker): the Linux default, UNAME26, their combinations with
# PER_LINUX32, and the query. ADDR_NO_RANDOMIZE and READ_IMPLIES_EXEC stay denied.
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

# Never allowed, whatever the job asks; the tests call each and expect EPERM.
ALWAYS_DENIED = (
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "mount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsmount",
    "move_mount",
    "open_tree",
    "swapon",
    "swapoff",
    "reboot",
    "setns",
    "chroot",
    "acct",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "syslog",
    "open_by_handle_at",
    "lookup_dcookie",
    "quotactl",
)

# Allowed unconditionally. clone, unshare, personality and socket are allowed with argument
# checks (see seccomp.py); clone3 gets ENOSYS so libc falls back to clone.
ALLOWED = (
    *("accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk"),
    *("cachestat", "capget", "capset", "chdir", "chmod", "chown", "clock_adjtime"),
    *("clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range", "connect"),
    *("copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1"),
    *("epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2"),
    *("execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64"),
    *("fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown"),
    *("fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork"),
    *("fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex"),
    *("futex_waitv", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid"),
    *("geteuid", "getgid", "getgroups", "getitimer", "getpeername", "getpgid", "getpgrp"),
    *("getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit"),
    *("get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "gettid"),
    *("gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init"),
    *("inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy"),
    *("io_getevents", "io_pgetevents", "ioprio_get", "ioprio_set", "io_setup", "io_submit"),
    *("kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self"),
    *("lchown", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr"),
    *("lremovexattr", "lseek", "lsetxattr", "lstat", "madvise", "membarrier", "memfd_create"),
    *("memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2"),
    *("mlockall", "mmap", "modify_ldt", "mprotect", "mq_getsetattr", "mq_notify", "mq_open"),
    *("mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv"),
    *("msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep"),
    *("newfstatat", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal"),
    *("pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "prctl"),
    *("pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pwrite64"),
    *("pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv"),
    *("recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename"),
    *("renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction"),
    *("rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend"),
    *("rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr"),
    *("sched_getparam", "sched_get_priority_max", "sched_get_priority_min"),
    *("sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr"),
    *("sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl"),
    *("semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto"),
    *("setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid", "setpriority"),
    *("setregid", "setresgid", "setresuid", "setreuid", "setrlimit", "set_robust_list"),
    *("setsid", "setsockopt", "set_tid_address", "setuid", "setxattr", "shmat", "shmctl"),
    *("shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "socketpair"),
    *("splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range"),
    *("syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete"),
    *("timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create"),
    *("timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask", "uname"),
    *("unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice", "wait4"),
    *("waitid", "write", "writev"),
)
