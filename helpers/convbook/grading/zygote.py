"""A kernel factory inside the jail: PyTorch imported once per worker, forked per notebook.

Starting a grading kernel costs about 2.5 s of CPU before the first cell runs, almost all
of it importing ipykernel and PyTorch. The zygote pays that once per worker slot. It is
started through ``sandbox`` (``sandbox.Zygote``: bubblewrap with the kernels' view of files,
a cgroup of its own), imports the modules every notebook needs, and only then listens on
its control socket and forks one kernel per notebook.

When the grader is root the zygote runs as root inside its jail with only CAP_SYS_ADMIN,
CAP_SETUID, CAP_SETGID and CAP_SETPCAP (its bounding set is cut to those, no_new_privs is
set, and it is not dumpable). Each fork, before it runs anything of its notebook:

* enters new mount and IPC namespaces (``unshare``), makes mount propagation private and
  mounts new size-limited tmpfs on /tmp, /dev/shm (root's, mode 1777) and HOME (the slot
  user's, mode 0700). The read-only binds that live below /tmp (the submission folder;
  Python or the data when they are there) are bound again on the new /tmp from the old
  one, held open. Nothing an earlier kernel of the slot wrote (files, SysV or POSIX IPC
  objects) is visible, and nothing is ever deleted: a kernel's scratch dies with its
  namespaces;
* drops to the slot's user for good: no other groups, real, effective and saved uid and
  gid the slot's, an empty capability bounding set, no capabilities, no_new_privs. It
  checks all of that in /proc/self/status and dies otherwise. A kernel cannot signal,
  stop or trace its zygote (another user, not dumpable);
* tells the zygote it is ready; the launcher moves it into its notebook's cgroups and
  only then does it take its notebook's resource limits and environment, reseed the
  random generators and become an ipykernel kernel.

A fork that cannot enter its jail (any error, or none within ``policy.ZYGOTE_FORK_S``) is
killed and the launcher told why; the launcher then starts the kernel on its own. The
zygote keeps no secret: no test, no submission, no connection key, and an environment
from the kernels' allow-list (``policy.kernel_env``; a fork's /proc/self/environ shows
the zygote's). Its control socket is an inherited descriptor that every fork closes at
once, so a kernel cannot ask it for anything.

Without root, bubblewrap runs in a user namespace: the zygote holds those capabilities
only there and its forks keep its user (new namespaces and scratch all the same). A
kernel could then stop or kill its zygote; the launcher would start kernels on their own
and the worker a new zygote.

It serves ``python -m ipykernel_launcher ARGS`` and ``python -c CODE`` (the sandbox's
tests). Protocol, one connection at a time, JSON lines: the launcher sends ``{"argv", "env",
"cwd", "limits", "threads", "uid", "home", "scratch"}``; the zygote forks, waits until the
fork is in its jail and answers ``{"pid": P}`` (P in the jail's process table) or
``{"error": WHY}``; the launcher moves P into its cgroups and sends ``{"go": true}``; the
zygote answers ``{"exit": CODE}`` when the kernel ends (the launcher signals the kernel
itself, through a pidfd). If the launcher's end closes first, the kernel and its process
group are killed. ``{"ping": true}`` is answered ``{"pong": true}`` (the worker's check).

Run as ``python -m convbook.grading.zygote --fd N`` (N: the bound socket).
"""

from __future__ import annotations

import ctypes
import importlib
import os
import resource
import select
import signal
import socket
import sys
import time

from convbook.grading import policy
from convbook.grading.sandbox import Lines

__all__ = ["PRELOAD", "serve"]

# What every grading kernel imports: ipykernel, PyTorch, NumPy and the course's checks.
# Not matplotlib: it fixes its backend from the environment when imported, and each
# kernel's environment is only known at fork time. Nor more of PyTorch: preloading the
# model modules and torch.utils.flop_counter as well made grading slower (2.5 s a
# notebook instead of 2.0 in bench/bench_grading.py), not faster.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "numpy",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "convbook.checks",
    "convbook.grading.server",  # the channel the grader calls answers through
    "convbook.grading.rules",
)
_IGNORED = (
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
    signal.SIGUSR2, signal.SIGALRM, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU,
)  # fmt: skip

# Linux constants (<sched.h>, <sys/mount.h>, <sys/prctl.h>, <linux/capability.h>)
_CLONE_NEWNS, _CLONE_NEWIPC = 0x00020000, 0x08000000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 4, 24, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_CAP_SETGID, _CAP_SETUID, _CAP_SETPCAP, _CAP_SYS_ADMIN = 6, 7, 8, 21
_KEPT_CAPS = {_CAP_SETGID, _CAP_SETUID, _CAP_SETPCAP, _CAP_SYS_ADMIN}  # sandbox._FACTORY_CAPS
_CAPABILITY_V3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]  # fmt: skip
_libc.prctl.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
_libc.unshare.argtypes = [ctypes.c_int]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _prctl(option: int, arg: int = 0) -> int:
    return _libc.prctl(option, arg, 0, 0, 0)


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 63  # dropping a capability the kernel does not know fails harmlessly


def _keep_only_what_forks_need() -> None:
    """In the zygote: no capability in its bounding set but the forks' needs, and no exec
    that could gain any (no_new_privs); nor may a process of its user trace it."""
    _prctl(_PR_SET_DUMPABLE, 0)
    for cap in range(_last_cap() + 1):
        if cap not in _KEPT_CAPS:
            _prctl(_PR_CAPBSET_DROP, cap)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    encoded = [None if v is None else os.fsencode(v) for v in (source, target, fstype, data)]
    _check(_libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]), f"mount {target}")


def _unescape(field: str) -> str:
    """A path of /proc/self/mountinfo (space, tab, newline and backslash are octal)."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _new_scratch(home: str, owner: int, size: int) -> None:
    """New mount and IPC namespaces, with new tmpfs on /tmp, /dev/shm and ``home``."""
    _check(_libc.unshare(_CLONE_NEWNS | _CLONE_NEWIPC), "unshare")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)  # nothing leaks back to the zygote
    home = os.path.normpath(home)
    with open("/proc/self/mountinfo") as handle:
        points = {_unescape(line.split()[4]) for line in handle}
    below = [p for p in points if p.startswith("/tmp/") and not _within(p, home)]
    tops = sorted(p for p in below if not any(q != p and _within(p, q) for q in below))
    old = os.open("/tmp", os.O_PATH | os.O_DIRECTORY)  # the zygote's /tmp, soon covered
    flags = _MS_NOSUID | _MS_NODEV
    try:
        _mount("tmpfs", "/tmp", "tmpfs", flags, f"mode=1777,size={size}")
        for point in tops:  # bound again, read-only as they were (MS_BIND keeps the flags)
            source = f"/proc/self/fd/{old}/{point[len('/tmp/') :]}"
            os.makedirs(os.path.dirname(point), mode=0o755, exist_ok=True)
            if os.path.isdir(source):
                os.makedirs(point, mode=0o755, exist_ok=True)
            else:
                open(point, "a").close()
            _mount(source, point, None, _MS_BIND | _MS_REC, None)
    finally:
        os.close(old)
    _mount("tmpfs", "/dev/shm", "tmpfs", flags, f"mode=1777,size={size}")
    os.makedirs(home, mode=0o755, exist_ok=True)
    _mount("tmpfs", home, "tmpfs", flags, f"mode=0700,uid={owner},gid={owner},size={size}")


def _drop_privileges(uid: int, switch: bool) -> None:
    """Become ``uid`` for good (``switch``; else keep this user): no other groups, no
    capability left, none to gain. Checked, not assumed."""
    if switch:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
    for cap in range(_last_cap() + 1):  # an empty bounding set: checked below
        _prctl(_PR_CAPBSET_DROP, cap)
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    if switch:
        os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
    header, data = _CapHeader(_CAPABILITY_V3, 0), (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")  # inheritable too
    _check(_prctl(_PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
    _prctl(_PR_SET_DUMPABLE, 1)  # its own /proc files are its own, as a started kernel's
    with open("/proc/self/status") as handle:
        status = dict(line.split(":", 1) for line in handle if ":" in line)
    wrong = [
        key
        for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
        if int(status[key], 16) != 0
    ]
    wrong += [key for key in ("Uid", "Gid") if {int(i) for i in status[key].split()} != {uid}]
    if switch and status["Groups"].split():
        wrong.append("Groups")
    if status.get("NoNewPrivs", "").strip() != "1":
        wrong.append("NoNewPrivs")
    if wrong:
        raise OSError(f"the fork kept privileges: {', '.join(wrong)}")


def _enter_jail(request: dict) -> None:
    """In the fork, before anything of the notebook: scratch of its own, then the slot's
    user for good (without root: the zygote's user, with no capability left)."""
    os.umask(0o022)
    os.chdir("/")  # not the zygote's folder, which the new /tmp covers
    uid = int(request["uid"])
    switch = os.geteuid() == 0 and uid > 0
    owner = uid if switch else os.getuid()
    _new_scratch(request["home"], owner, int(request["scratch"]))
    _drop_privileges(owner, switch)


def _become_kernel(request: dict, saved: dict) -> None:
    """In the fork, in its jail and cgroups: take the notebook's limits and environment,
    then run ipykernel."""
    for signum, handler in saved.items():
        signal.signal(signum, handler)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too large file is an error, not a kill
    for name, value in request.get("limits", {}).items():
        kind = getattr(resource, name)
        resource.setrlimit(kind, tuple(value))
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    import importlib.util
    import random
    import tempfile

    tempfile.tempdir = None  # found again from this kernel's TMPDIR
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(request.get("threads", 1)))
    argv = request["argv"]
    if argv[0] == "-c":  # python -c CODE [ARGS]: what the sandbox's tests run
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
        return
    launcher = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [launcher.origin if launcher else "ipykernel_launcher", *argv[2:]]
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def _kill(pid: int) -> None:
    for target in (-pid, pid):  # its process group (it called setsid), then itself
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass


def _fork_kernel(listener: socket.socket, conn: socket.socket, request: dict, saved: dict):
    """Fork the kernel-to-be; returns its pid, a pipe end that says whether it entered its
    jail (``k``, else ``e`` and why) and one that tells it to go on (``g``)."""
    status_r, status_w = os.pipe()
    ready_r, ready_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # e.g. no process left in its cgroup
        for fd in (status_r, status_w, ready_r, ready_w):
            os.close(fd)
        raise
    if pid != 0:
        os.close(status_w)
        os.close(ready_r)
        return pid, status_r, ready_w
    code = 1
    try:
        os.setsid()  # its own process group, for the zygote's kill
        listener.close()
        conn.close()
        os.close(status_r)
        os.close(ready_w)
        try:
            _enter_jail(request)
        except BaseException as error:
            os.write(status_w, f"e{type(error).__name__}: {error}".encode()[:2000])
            raise
        os.write(status_w, b"k")
        os.close(status_w)
        if os.read(ready_r, 1) == b"g":  # moved into its notebook's cgroups
            os.close(ready_r)
            _become_kernel(request, saved)
            code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - a fork must never return into the loop
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(code)


def _serve_one(listener: socket.socket, conn: socket.socket, saved: dict) -> None:
    lines = Lines(conn)
    try:
        request = lines.read()
    except (OSError, ValueError):
        return
    if request is None:
        return
    if request.get("ping"):
        try:
            lines.send({"pong": True})
        except OSError:
            pass
        return
    try:
        pid, status_r, ready_w = _fork_kernel(listener, conn, request, saved)
    except OSError as error:
        try:
            lines.send({"error": f"could not fork: {error}"})
        except OSError:
            pass
        return
    try:
        entered = select.select([status_r], [], [], policy.ZYGOTE_FORK_S)[0]
        status = os.read(status_r, 4096) if entered else b"e: no answer in time"
        if status != b"k":
            _kill(pid)
            why = status[1:].decode(errors="replace") or "it died"
            lines.send({"error": f"the fork could not enter its jail: {why}"})
            return
        lines.send({"pid": pid})
        answer = lines.read()
        if not answer or not answer.get("go"):
            _kill(pid)
            return
        os.write(ready_w, b"g")
        os.close(ready_w)
        ready_w = -1
        while True:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                lines.send({"exit": os.waitstatus_to_exitcode(code)})
                return
            readable = b"\n" in lines.buffer or select.select([conn], [], [], 0.1)[0]
            if readable and lines.read() is None:  # the launcher is gone: so is the kernel
                _kill(pid)
                return
    except (OSError, ValueError):
        _kill(pid)
    finally:
        os.close(status_r)
        if ready_w >= 0:
            os.close(ready_w)
        _reap(pid)


def _reap(pid: int, seconds: float = 2.0) -> None:
    """Wait (briefly) for a killed fork, so that it leaves no zombie in its cgroup."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def serve(fd: int) -> None:
    """Import what kernels need, then fork one kernel per connection on socket ``fd``."""
    _keep_only_what_forks_need()
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        # a fork cannot use a CUDA context made before it: let each kernel start on its own
        raise SystemExit("zygote: CUDA was initialized while importing; not forking kernels")
    saved = {signum: signal.getsignal(signum) for signum in _IGNORED}
    for signum in _IGNORED:
        signal.signal(signum, signal.SIG_IGN)
    listener = socket.socket(fileno=fd)
    listener.listen(8)  # only now: until here, connecting was refused (still importing)
    while True:
        conn, _ = listener.accept()
        conn.settimeout(policy.ZYGOTE_REPLY_S)  # a launcher that says nothing is dropped
        with conn:
            _serve_one(listener, conn, saved)
        try:  # reap forks whose kernels ended after their launcher left
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass


if __name__ == "__main__":
    if sys.argv[1:2] != ["--fd"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m convbook.grading.zygote --fd N")
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # the submission folder is the working folder: nothing to import
    serve(int(sys.argv[2]))
