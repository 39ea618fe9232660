"""Isolation for grading, built on util-linux ``unshare``, bubblewrap and cgroups.

Three layers:

* ``worker_prefix()`` wraps each grading worker in new Linux namespaces with ``unshare``:
  its own network with only a loopback (no network at all), its own mounts and process
  table. Killing the worker kills everything in it.
* the kernel launcher (``python sandbox.py -- <kernel command>``, started by
  ``execute.JailedKernelManager``) puts the kernel in a cgroup of its own with total limits
  on memory and processes, sets per-process limits (CPU time, file size, address space),
  gives it an environment built from an allow-list (``policy.kernel_env``: nothing else of
  the grader's environment), drops to an unprivileged user of its own when the grader is
  root and then execs **bubblewrap**. The kernel sees read-only system and Python files, a
  read-only folder holding a copy of its own submission (without hidden tests; its working
  folder), and size-limited scratch folders of its own: HOME (= TMPDIR), /tmp and
  /dev/shm, each a new tmpfs. Nothing else: not the solutions, not the other submissions,
  not the course folder with its hidden tests, not the gradebook.

  Inside a worker the launcher first asks the slot's zygote (:class:`Zygote`,
  ``convbook.grading.zygote``) to fork the kernel instead, PyTorch already imported. The
  fork gets new mount and IPC namespaces with new tmpfs on HOME, /tmp and /dev/shm (the
  only mount code of our own, in ``zygote``) and drops to the slot's user for good before
  it runs anything of its notebook; the launcher moves it into the notebook's cgroups
  first. When the zygote cannot serve the kernel in any way (dead, stopped, hung, a fork
  that cannot enter its jail), every wait being bounded, the launcher starts the kernel
  itself as above, and the worker starts a new zygote for the next notebook.
* :func:`missing` probes all of it. ``convbook grade`` refuses to grade when anything is
  missing, unless the instructor passes ``--no-sandbox``.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from convbook.grading import policy

__all__ = ["ENV_PREFIX", "KernelJail", "Lines", "Zygote", "missing", "worker_prefix"]

ENV_PREFIX = "CONVBOOK_JAIL_"
_ROOT_PREFIX = ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_CGROUP_NAME = "convbook-kernel"
# What a zygote keeps to give each fork a jail of its own: new namespaces and tmpfs
# (SYS_ADMIN), the slot's user (SETUID, SETGID), an empty bounding set (SETPCAP).
_FACTORY_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")


@functools.lru_cache(maxsize=1)
def worker_prefix() -> tuple[str, ...]:
    """The command prefix that puts a grading worker in its own namespaces.

    Returns:
        e.g. ``("unshare", "--net", ...)``; empty when this machine allows none.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    prefix = [unshare, *_ROOT_PREFIX]
    if os.geteuid() != 0:
        prefix = [unshare, "--user", "--map-root-user", *_ROOT_PREFIX]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return tuple(prefix) if probe.returncode == 0 else ()


class KernelJail:
    """The limits and folders of one kernel, passed to the launcher through the environment.

    Attributes:
        home: the kernel's scratch folder (HOME, TMPDIR), a size-limited tmpfs inside.
            /tmp and /dev/shm are new tmpfs of the same size.
        submission: a folder holding the student's own notebook; the kernel's working folder.
        uid: the user the kernel runs as when the grader is root.
        memory_bytes: total memory of the kernel and every process it starts.
        processes: total number of processes and threads.
        cpu_seconds: CPU time of each process.
        file_bytes: largest file the kernel may write.
        scratch_bytes: size of the scratch folder (all files together).
        threads: BLAS/OpenMP threads.
        cpu_cores: CPUs the kernel and its processes may use together (default: threads).
        sandbox: False with ``--no-sandbox``: limits only, nothing hidden.
        zygote: where the kernel is forked from, if anywhere (then ``home`` and
            ``submission`` must be the zygote's).
        factory: this is the jail of a zygote itself (see :class:`Zygote`).
        cgroup: the name of the kernel's cgroups, unique to this kernel (see
            :meth:`remove`).
    """

    def __init__(
        self,
        *,
        home: Path,
        submission: Path,
        uid: int,
        memory_bytes: int,
        processes: int,
        cpu_seconds: int,
        file_bytes: int,
        scratch_bytes: int,
        threads: int,
        sandbox: bool = True,
        cpu_cores: float | None = None,
        zygote: Zygote | None = None,
        factory: bool = False,
    ) -> None:
        self.cgroup = f"{uid}-{secrets.token_hex(6)}"
        self.settings = {
            "CGROUP": self.cgroup,
            "HOME": str(home),
            "SUBMISSION": str(submission),
            "UID": str(uid),
            "MEMORY": str(memory_bytes),
            "PROCESSES": str(processes),
            "CPU": str(cpu_seconds),
            "FSIZE": str(file_bytes),
            "SCRATCH": str(scratch_bytes),
            "THREADS": str(threads),
            "CORES": str(cpu_cores if cpu_cores is not None else threads),
            "SANDBOX": "1" if sandbox else "0",
        }
        if factory:
            self.settings["FACTORY"] = "1"
        if zygote is not None:  # the launcher asks it for the kernel (see ``Zygote``)
            self.settings.update(
                ZYGOTE=str(zygote.socket),
                ZYGOTE_CGROUP=zygote.jail.cgroup,
                ZYGOTE_WAIT=str(zygote.wait_s),
            )

    def env(self) -> dict[str, str]:
        """Variables for the worker's environment (the launcher removes them)."""
        return {f"{ENV_PREFIX}{key}": value for key, value in self.settings.items()}

    def memory_limit_hit(self) -> bool:
        """Whether the kernel ran out of its total memory (an OOM kill or a failed charge)."""
        return _memory_limit_hit(self.cgroup)

    def remove(self) -> None:
        """Kill whatever is left of this kernel and remove its cgroups (only its own: other
        kernels grade beside it)."""
        _remove_cgroups(self.cgroup)


class Zygote:
    """The worker's end of a kernel factory (``convbook.grading.zygote``), one per slot.

    Kernels forked from it skip the imports every grading kernel makes (about 2.5 s of CPU
    each). It runs in a jail like a kernel's (the same view of files, a cgroup of its own),
    but, when the grader is root, as root inside it, holding only what it needs to give
    each fork a jail of its own (``_FACTORY_CAPS``; bubblewrap runs it without setpriv).
    Each fork gets new mount and IPC namespaces with empty tmpfs on HOME, /tmp and
    /dev/shm and drops to the slot's user for good before it runs anything of its notebook
    (see ``convbook.grading.zygote``), so nothing a kernel writes is seen by the next, nothing
    is ever deleted (a kernel's scratch dies with its namespace), and a kernel cannot
    signal, stop or trace its zygote. The launcher moves each fork into its notebook's
    cgroups before the fork runs anything of the notebook. The worker empties
    ``submission`` (read-only to kernels) before each notebook.

    Without root bubblewrap runs in a user namespace: the zygote holds those capabilities
    only there and its forks keep its user, so a kernel could stop or kill it; then, as
    whenever the zygote fails, the launcher starts kernels on their own and the worker
    replaces the zygote (:meth:`healthy`).

    Attributes:
        home: the kernels' HOME (each fork mounts its own tmpfs there).
        submission: the kernels' working folder (read-only inside the jail).
        socket: the control socket; only the launcher, outside the jail, can reach it.
        wait_s: how long a kernel waits for it to import (until then it does not listen)
            before the launcher starts the kernel on its own.
        key: the settings it was started with; kernels with other settings cannot use it.
    """

    def __init__(self, folder: Path, *, wait_s: float, **limits) -> None:
        """``limits``: its own jail's (``uid``, ``memory_bytes``, ``processes``, ... as
        :class:`KernelJail` takes them)."""
        self.home, self.submission = folder / "home", folder / "submission"
        self.socket = folder / "control.sock"
        self.wait_s = wait_s
        self.key = tuple(sorted(limits.items()))
        self.jail = KernelJail(home=self.home, submission=self.submission, factory=True, **limits)
        self.process: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> None:
        """Start it; it imports in the background, and the first kernel waits for that."""
        import socket

        for folder in (self.home, self.submission):
            folder.mkdir(parents=True, exist_ok=True)
        self.submission.parent.chmod(0o755)
        self.submission.chmod(0o755)
        self.socket.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket))
            self.socket.chmod(0o600)
            # bound, not listening: the zygote listens once it has imported, so until then
            # connecting is refused and a launcher can tell "importing" from "hung"
            env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
            fd = str(listener.fileno())
            command = [sys.executable, "-I", __file__, "--",
                       sys.executable, "-m", "convbook.grading.zygote", "--fd", fd]  # fmt: skip
            self.process = subprocess.Popen(
                command,
                env={**env, **self.jail.env()},
                pass_fds=[listener.fileno()],
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.started = time.monotonic()
        finally:
            listener.close()  # the zygote holds it now: if it dies, connecting fails
        # until its launcher has joined its cgroup a kernel's launcher would take it for
        # dead (about 0.1 s; bounded: a zygote that never gets there is replaced later)
        deadline = self.started + policy.ZYGOTE_FORK_S
        while not self.pids() and self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self, timeout: float = policy.ZYGOTE_PING_S) -> bool:
        """Whether it can fork the next kernel: alive, not stopped, and answering a ping
        within ``timeout`` (or still importing, for at most ``wait_s`` after its start)."""
        import socket

        if not self.alive() or _zygote_state(self.jail.cgroup) != "running":
            return False
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(timeout)
        with conn:
            try:
                conn.connect(str(self.socket))
            except ConnectionRefusedError:  # not listening yet
                return time.monotonic() - self.started < self.wait_s
            except OSError:
                return False
            lines = Lines(conn)
            try:
                lines.send({"ping": True})
                return lines.read() == {"pong": True}
            except (OSError, ValueError):
                return False

    def empty_submission(self) -> None:
        """Remove the previous notebook's files (the worker's and the launcher's: kernels
        cannot write there, so there are no folders). Only what is inside: the jail holds
        the folder itself mounted, and a new folder of that name would not be seen there."""
        for entry in os.scandir(self.submission):
            try:
                os.unlink(entry.path)
            except OSError:
                pass
        left = [entry.name for entry in self.submission.iterdir()]
        if left:
            raise OSError(f"could not empty the kernels' folder {self.submission}: {left}")

    def pids(self) -> set[int]:
        """Its processes (bubblewrap's and its own), as the worker sees them."""
        return set(_group_procs(self.jail.cgroup))

    def stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            self.process.wait()
            self.process = None
        self.jail.remove()
        self.socket.unlink(missing_ok=True)


# -- cgroups: total memory and processes of one kernel -----------------------------------


def _own_cgroup(controller: str) -> Path | None:
    """Where this process's cgroup for ``controller`` lives (v2 unified or v1), if writable."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    unified = _CGROUP_ROOT / "cgroup.controllers"
    for line in lines:
        number, controllers, path = line.split(":", 2)
        if unified.exists() and number == "0":
            base = _CGROUP_ROOT / path.lstrip("/")
            if controller in (base / "cgroup.controllers").read_text().split():
                return base
        elif controller in controllers.split(","):
            base = _CGROUP_ROOT / controller / path.lstrip("/")
            if base.is_dir():
                return base
    return None


_CONTROLLERS = ("memory", "pids", "cpu")
_PERIOD_US = 100_000


def _make_cgroup(
    name: str, memory_bytes: int, processes: int, cores: float, *, join: bool = True
) -> list[Path]:
    """Create cgroups named ``name`` with the limits and move this process into them
    (unless ``join`` is False).

    The cpu controller caps the kernel and its processes at ``cores`` CPUs together, so its
    total CPU time is at most ``cores`` times the notebook's time limit.

    Raises:
        OSError: when a controller cannot be used.
    """
    made = []
    for controller in _CONTROLLERS:
        base = _own_cgroup(controller)
        if base is None:
            raise OSError(f"no writable cgroup {controller} controller")
        group = base / f"{_CGROUP_NAME}-{name}"
        group.mkdir(exist_ok=True)
        if controller == "memory":
            limit = "memory.max" if (group / "memory.max").exists() else "memory.limit_in_bytes"
            (group / limit).write_text(str(memory_bytes))
            swap = group / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
        elif controller == "pids":
            (group / "pids.max").write_text(str(processes))
        elif (group / "cpu.max").exists():
            (group / "cpu.max").write_text(f"{int(cores * _PERIOD_US)} {_PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(int(cores * _PERIOD_US)))
        if join:
            (group / "cgroup.procs").write_text(str(os.getpid()))
        made.append(group)
    return made


def _remove_cgroups(name: str) -> None:
    for controller in _CONTROLLERS:
        base = _own_cgroup(controller)
        group = base / f"{_CGROUP_NAME}-{name}" if base is not None else None
        if group is None or not group.is_dir():
            continue
        for _ in range(50):  # kill until empty: a fork may land between read and kill
            try:
                pids = (group / "cgroup.procs").read_text().split()
                for pid in pids:
                    os.kill(int(pid), signal.SIGKILL)
                group.rmdir()
                break
            except (OSError, ValueError):
                time.sleep(0.1)


def _memory_limit_hit(name: str) -> bool:
    base = _own_cgroup("memory")
    if base is None:
        return False
    group = base / f"{_CGROUP_NAME}-{name}"
    try:
        events = group / "memory.events"
        if events.exists():
            counts = dict(line.split() for line in events.read_text().splitlines())
            return int(counts.get("oom_kill", 0)) > 0 or int(counts.get("max", 0)) > 0
        return int((group / "memory.failcnt").read_text()) > 0
    except (OSError, ValueError):
        return False


# -- bubblewrap: what the kernel can see -------------------------------------------------


def _system_binds() -> list[str]:
    args = []
    for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _python_binds() -> list[str]:
    """Read-only binds for this Python, its packages and anything on its path (an editable
    install's source folder included)."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    data = os.environ.get("CONVBOOK_DATA_DIR")
    if data and os.path.isdir(data):
        paths.add(data)  # the course's read-only data sample
    kept: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths} | paths, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    parents: list[str] = []  # folders above each bind, enterable by anyone inside
    binds = []
    for path in kept:
        if path.startswith(("/usr/", "/etc/")) or path in ("/usr", "/etc"):
            continue
        parent = os.path.dirname(path)
        while parent != "/" and parent not in parents:
            parents.append(parent)
            parent = os.path.dirname(parent)
        binds += ["--ro-bind", path, path]
    made = [arg for p in sorted(parents, key=len) for arg in ("--perms", "0755", "--dir", p)]
    return made + binds


def _parents(*paths: str) -> list[str]:
    found: set[str] = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent != "/":
            found.add(parent)
            parent = os.path.dirname(parent)
    return sorted(found, key=len)


def bwrap_command(
    home: str,
    submission: str,
    scratch_bytes: int,
    command: list[str],
    uid: int,
    *,
    factory: bool = False,
) -> list[str]:
    """The bubblewrap command line that runs ``command`` with the kernel's view of files.

    As root, bubblewrap sets up the mounts and util-linux ``setpriv`` then drops to ``uid``
    with no capabilities left; as anyone else, bubblewrap runs in a user namespace.
    ``factory``: the command is a zygote, which stays root (without root: the user of the
    namespace) inside with only ``_FACTORY_CAPS``; each of its forks drops to ``uid``.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise OSError("bubblewrap (bwrap) is not installed")
    caps: list[str] = []
    if factory:
        caps = ["--cap-drop", "ALL", *[a for c in _FACTORY_CAPS for a in ("--cap-add", c)]]
    if os.geteuid() == 0 and uid > 0:
        drop, namespace = [], []
        if not factory:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                raise OSError("setpriv (util-linux) is not installed")
            drop = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--"]  # fmt: skip
    else:
        drop, namespace = [], ["--unshare-user"]
    size = str(scratch_bytes)
    return [
        bwrap,
        *namespace,
        *caps,
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--perms", "1777", "--size", size, "--tmpfs", "/tmp",  # first: Python may be below
        *_system_binds(),
        *_python_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm",
        *[a for p in _parents(home, submission) for a in ("--perms", "0755", "--dir", p)],
        "--perms", "0777", "--size", size, "--tmpfs", home,
        "--ro-bind", submission, submission,
        "--chdir", submission,
        *drop,
        *command,
    ]  # fmt: skip


class Lines:
    """JSON messages, one per line, over a socket (the launcher's talk with the zygote)."""

    def __init__(self, conn) -> None:
        self.conn, self.buffer = conn, b""

    def send(self, message: dict) -> None:
        self.conn.sendall((json.dumps(message) + "\n").encode())

    def read(self) -> dict | None:
        """The next message; None at end of file. Blocks (up to the socket's timeout)."""
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def _group_procs(name: str) -> list[int]:
    """The processes in the kernel cgroup ``name`` (pids controller), as seen from here."""
    base = _own_cgroup("pids")
    try:
        text = (base / f"{_CGROUP_NAME}-{name}" / "cgroup.procs").read_text() if base else ""
    except OSError:
        return []
    return [int(pid) for pid in text.split()]


def _zygote_state(name: str) -> str:
    """``"dead"`` (no process left in the kernel cgroup ``name``), ``"stopped"`` (one of
    its processes is: SIGSTOP) or ``"running"``."""
    pids = _group_procs(name)
    if not pids:
        return "dead"
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rpartition(")")[2].split()[:1] in (["T"], ["t"]):
            return "stopped"
    return "running"


def _outer_pid(candidates: list[int], inner: int) -> int | None:
    """Which of ``candidates`` is the process the jail's own process table calls ``inner``."""
    for pid in candidates:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                if len(ids) > 1 and ids[-1] == str(inner):
                    return pid
    return None


def _say(text: str) -> None:
    """A line for the worker's log (the launcher's stderr is the kernel's)."""
    print(f"convbook sandbox: {text}", file=sys.stderr, flush=True)


def _connect_zygote(settings: dict[str, str]):
    """A connection to the slot's zygote once it listens (it may still be importing); None
    when it is dead or stopped, or still not listening after ``ZYGOTE_WAIT`` seconds."""
    import socket

    deadline = time.monotonic() + float(settings.get("ZYGOTE_WAIT", "60"))
    while _zygote_state(settings["ZYGOTE_CGROUP"]) == "running":
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(policy.ZYGOTE_REPLY_S)  # every wait for it from now on
        try:
            conn.connect(settings["ZYGOTE"])
            return conn
        except (ConnectionRefusedError, FileNotFoundError):
            conn.close()  # bound, not listening yet: still importing
        except OSError:
            conn.close()
            return None
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
    return None


def _kernel_from_zygote(
    settings: dict[str, str], command: list[str], env: dict[str, str], limits: dict
) -> int | None:
    """Ask the slot's zygote for this kernel; returns the kernel's exit code, or None when
    the zygote cannot serve it, whatever the reason (then the caller starts the kernel
    itself). Every wait before the kernel runs is bounded."""
    if command[1:3] != ["-m", "ipykernel_launcher"] and command[1:2] != ["-c"]:
        return None
    conn = _connect_zygote(settings)
    if conn is None:
        _say("the zygote is dead, stopped or not listening; starting the kernel on its own")
        return None
    lines = Lines(conn)
    pidfd = -1
    try:
        groups = _make_cgroup(
            settings["CGROUP"],
            int(settings.get("MEMORY", "0")),
            int(settings.get("PROCESSES", "64")),
            float(settings.get("CORES", "1")),
            join=False,
        )
        request = {
            "argv": command[1:],
            "env": env,
            "cwd": settings["SUBMISSION"],
            "limits": limits,
            "threads": int(settings.get("THREADS", "1")),
            "uid": int(settings.get("UID", "0")),
            "home": settings["HOME"],
            "scratch": int(settings.get("SCRATCH", str(256 << 20))),
        }
        lines.send(request)
        reply = lines.read()
        if not reply or "pid" not in reply:
            why = (reply or {}).get("error", "no answer")
            raise OSError(f"the zygote could not fork the kernel: {why}")
        outer = _outer_pid(_group_procs(settings["ZYGOTE_CGROUP"]), reply["pid"])
        if outer is None:
            raise OSError("the zygote's fork is not in its cgroup")
        pidfd = os.pidfd_open(outer)  # this kernel, whatever becomes of the zygote
        for group in groups:  # before the fork runs anything of the notebook's
            (group / "cgroup.procs").write_text(str(outer))
        lines.send({"go": True})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        if pidfd >= 0:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except OSError:
                pass
            os.close(pidfd)
        conn.close()  # the zygote kills its fork when the connection closes
        _say(f"{error}; starting the kernel on its own")
        return None

    def forward(signum, _frame) -> None:  # interrupts, straight to the kernel
        try:
            signal.pidfd_send_signal(pidfd, signum)
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    watched = [conn, pidfd]
    while True:  # this process stands for the kernel: it ends when the kernel does
        ready = select.select(watched, [], [])[0]
        if pidfd in ready and conn in watched and conn not in ready:
            # the kernel ended: the zygote tells its exit code at once, or never
            ready = [*select.select([conn], [], [], 2.0)[0], pidfd]
        if conn in ready:
            try:
                message = lines.read()
            except (OSError, ValueError):
                message = None
            if message is None:
                watched = [pidfd]  # the zygote is gone: watch the kernel alone
            elif "exit" in message:
                code = int(message["exit"])
                return code if code >= 0 else 128 - code
        if pidfd in ready:
            return 1  # the kernel ended, and the zygote did not say how


def _launch(command: list[str]) -> None:
    env = dict(os.environ)
    settings = {k[len(ENV_PREFIX) :]: env.pop(k) for k in list(env) if k.startswith(ENV_PREFIX)}
    home = settings.get("HOME", os.getcwd())
    submission = settings.get("SUBMISSION", os.getcwd())
    uid = int(settings.get("UID", "0"))
    threads = settings.get("THREADS", "1")
    sandbox = settings.get("SANDBOX", "0") == "1"
    os.makedirs(home, exist_ok=True)

    # the connection file lives in the worker's runtime folder: hand it over through the
    # (read-only) submission folder, which the kernel can see
    if "-f" in command:
        index = command.index("-f") + 1
        copy = os.path.join(submission, "kernel-connection.json")
        shutil.copyfile(command[index], copy)
        os.chmod(copy, 0o644)
        command[index] = copy

    memory = int(settings.get("MEMORY", "0"))
    limits = {
        "RLIMIT_AS": memory,
        "RLIMIT_FSIZE": int(settings.get("FSIZE", "0")),
        "RLIMIT_CORE": 0,
    }
    limits = {k: v for k, v in limits.items() if v or k == "RLIMIT_CORE"}
    cpu = int(settings.get("CPU", "0"))
    env = policy.kernel_env(env, home=home, threads=threads)  # an allow-list, nothing more
    if sandbox and settings.get("ZYGOTE"):
        forked = {name: (value, value) for name, value in limits.items()}
        if cpu:
            forked["RLIMIT_CPU"] = (cpu, cpu + 5)
        code = _kernel_from_zygote(settings, command, env, forked)
        if code is not None:
            sys.exit(code)
    if sandbox:
        _make_cgroup(
            settings["CGROUP"],
            memory,
            int(settings.get("PROCESSES", "64")),
            float(settings.get("CORES", "1")),
        )
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too large file is an error, not a kill
    if not sandbox:
        # no namespaces: these at least make HTTP libraries fail fast
        env.update(http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
                   HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")  # fmt: skip
        os.execvpe(command[0], command, env)
    # no RLIMIT_NPROC: it counts every process of the uid, so one kernel's fork bomb would
    # starve another kernel that runs under the same uid; the pids cgroup is per kernel
    scratch = int(settings.get("SCRATCH", str(256 << 20)))
    factory = settings.get("FACTORY") == "1"
    jailed = bwrap_command(home, submission, scratch, command, uid, factory=factory)
    os.execvpe(jailed[0], jailed, env)


# -- the probe ---------------------------------------------------------------------------

_PROBE = """\
import json, os, socket, sys
found = {"uid": os.getuid(), "cwd": os.getcwd()}
found["secret"] = os.path.exists(sys.argv[1])
found["env"] = "PROBE_LEAK" in os.environ
try:
    open(os.path.join(os.getcwd(), "x"), "w")
    found["cwd_writable"] = True
except OSError:
    found["cwd_writable"] = False
print(json.dumps(found))
"""


def _probe_in_worker() -> None:
    """Runs inside the worker's namespaces: launch a jailed Python as a kernel would be."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="convbook-probe-"))
    os.chmod(base, 0o755)
    secret = base / "secret.txt"
    secret.write_text("hidden")
    home, submission = base / "home", base / "submission"
    submission.mkdir()
    jail = KernelJail(home=home, submission=submission, uid=60999, memory_bytes=2 << 30,
                      processes=64, cpu_seconds=60, file_bytes=1 << 20, scratch_bytes=1 << 20,
                      threads=1)  # fmt: skip
    env = {**os.environ, **jail.env(), "PROBE_LEAK": "1"}  # not on the allow-list
    command = [sys.executable, "-I", __file__, "--", sys.executable, "-I", "-c", _PROBE]
    command.append(str(secret))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    jail.remove()
    shutil.rmtree(base, ignore_errors=True)
    print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr[-800:]}))


@functools.lru_cache(maxsize=1)
def missing() -> tuple[str, ...]:
    """What this machine lacks for grading in the sandbox; empty when everything works.

    Returns:
        One line per missing piece, each saying how to get it.
    """
    problems = []
    prefix = worker_prefix()
    if not prefix:
        problems.append(
            "Linux namespaces: `unshare` (util-linux) must run as root or with unprivileged"
            " user namespaces enabled"
        )
    if shutil.which("bwrap") is None:
        problems.append("bubblewrap: install it (Debian/Ubuntu: apt-get install bubblewrap)")
    for controller in _CONTROLLERS:
        if _own_cgroup(controller) is None:
            problems.append(f"a writable cgroup with the {controller} controller (run as root)")
    if problems:
        return tuple(problems)
    command = [*prefix, sys.executable, "-I", __file__, "--probe"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        found = json.loads(report["out"].strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError, KeyError) as error:
        detail = (locals().get("report") or {}).get("err", "") or str(error)
        return (f"the sandbox could not start a jailed process: {detail.strip()[-300:]}",)
    if found.get("secret") or found.get("cwd_writable"):
        return ("the sandbox started, but its process could see or write hidden files",)
    if found.get("env", True):
        return ("the sandbox started, but its process got more than the allowed environment",)
    if os.geteuid() == 0 and found.get("uid") == 0:
        return ("the sandbox started, but its process still ran as root",)
    return ()


def main(argv: list[str] | None = None) -> None:
    """``python sandbox.py -- KERNEL_COMMAND...`` (the launcher) or ``--probe``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--probe"]:
        _probe_in_worker()
        return
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise SystemExit("usage: python sandbox.py -- KERNEL_COMMAND...")
    _launch(argv)


if __name__ == "__main__":
    main()
