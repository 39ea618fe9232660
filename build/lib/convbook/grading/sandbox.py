"""Isolation for grading: the worker process and the kernel that runs student code.

Two layers:

* ``worker_prefix()`` wraps each grading worker in new Linux namespaces (``unshare``): its
  own network with only a loopback (so no network), its own mounts and its own process
  table (so the kernel cannot see or signal other students' kernels). Killing the worker
  kills everything in it.
* ``python -m convbook.grading.sandbox -- <kernel command>`` is how ``JailedKernelManager``
  starts the kernel. Before it becomes the kernel it hides folders (solutions, the
  submissions, the output folder, the worker's gradebook) behind empty tmpfs mounts, sets
  resource limits, drops to an unprivileged user of its own and clears secrets from the
  environment.

Each step is used when the machine allows it (root, or unprivileged user namespaces);
``isolation_report()`` says what is in force.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["ENV_PREFIX", "isolation_report", "jail_env", "worker_prefix"]

ENV_PREFIX = "CONVBOOK_JAIL_"
_CLONE_NEWNS = 0x00020000
_MS_REC, _MS_PRIVATE, _MS_BIND, _MS_RDONLY = 0x4000, 0x40000, 0x1000, 0x1
_ROOT_PREFIX = ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]


@functools.lru_cache(maxsize=1)
def worker_prefix() -> tuple[str, ...]:
    """The command prefix that puts a grading worker in its own namespaces.

    Returns:
        e.g. ``("unshare", "--net", ...)``; empty when this machine allows none.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    candidates = [[unshare, *_ROOT_PREFIX]]
    if os.geteuid() != 0:
        candidates = [[unshare, "--user", "--map-root-user", *_ROOT_PREFIX]]
    for prefix in candidates:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return tuple(prefix)
    return ()


def isolation_report() -> str:
    """One line saying which isolation steps this machine allows."""
    parts = []
    prefix = worker_prefix()
    parts.append("own network/mounts/processes" if prefix else "NO namespaces (unshare failed)")
    parts.append("unprivileged kernel user" if os.geteuid() == 0 else "kernel runs as you")
    parts.append("memory/CPU/file-size limits")
    return "isolation: " + ", ".join(parts)


def jail_env(
    *,
    hide: list[Path],
    home: Path,
    uid: int,
    memory_bytes: int,
    cpu_seconds: int,
    file_bytes: int,
    threads: int,
) -> dict[str, str]:
    """Environment variables that tell the kernel launcher how to confine the kernel.

    Args:
        hide: folders (or files) the kernel must not read.
        home: a private folder that becomes the kernel's HOME and TMPDIR.
        uid: user id for the kernel when the grader runs as root.
        memory_bytes: address-space limit of the kernel.
        cpu_seconds: CPU-time limit of the kernel.
        file_bytes: largest file the kernel may write.
        threads: BLAS/OpenMP threads for the kernel.

    Returns:
        Variables to add to the worker's environment (the launcher removes them).
    """
    return {
        f"{ENV_PREFIX}HIDE": json.dumps([str(p) for p in hide]),
        f"{ENV_PREFIX}HOME": str(home),
        f"{ENV_PREFIX}UID": str(uid),
        f"{ENV_PREFIX}MEMORY": str(memory_bytes),
        f"{ENV_PREFIX}CPU": str(cpu_seconds),
        f"{ENV_PREFIX}FSIZE": str(file_bytes),
        f"{ENV_PREFIX}THREADS": str(threads),
    }


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    result = _libc().mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {target}: {os.strerror(errno)}")


def _blocked_ancestor(path: str) -> str | None:
    """The highest folder above ``path`` that other users cannot enter, if any."""
    blocked = None
    parent = os.path.dirname(path)
    while parent not in ("/", ""):
        if not os.stat(parent).st_mode & 0o001:
            blocked = parent
        parent = os.path.dirname(parent)
    return blocked


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _hide(hide: list[str], keep: list[str], unprivileged: bool) -> None:
    """Cover each ``hide`` path with an empty tmpfs, yet keep ``keep`` paths reachable.

    A hidden folder that holds a kept path (``/root`` holding a pyenv Python), or a private
    folder above a kept path when the kernel will not be root, gets an empty tmpfs anyone
    may enter, and only the kept path is bind-mounted back into it.
    """
    if _libc().unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE, None)
    covers = {h for h in hide if os.path.isdir(h) and any(_inside(k, h) for k in keep)}
    if unprivileged:
        covers |= {b for b in map(_blocked_ancestor, keep) if b}
    covers = {c for c in covers if not any(o != c and _inside(c, o) for o in covers)}
    handles = {
        k: os.open(k, os.O_RDONLY | os.O_DIRECTORY)
        for k in keep
        if any(_inside(k, c) for c in covers)
    }
    for cover in sorted(covers):
        _mount("tmpfs", cover, "tmpfs", 0, "size=64k,mode=0755")
    for path, handle in handles.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{handle}", path, None, _MS_BIND | _MS_REC, None)
        os.close(handle)
    # after the binds: a hidden path inside a kept one (the worker's gradebook) is visible again
    for path in hide:
        if path in covers or not os.path.exists(path):
            continue
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", _MS_RDONLY, "size=4k,mode=0555")
        else:
            _mount("/dev/null", path, None, _MS_BIND, None)


def _real_root() -> bool:
    if os.geteuid() != 0:
        return False
    try:
        first = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        return True
    return first[:2] == ["0", "0"]  # not a user namespace that maps us to root


def _prepare_for_user(uid: int, cwd: str, home: str, stop_at: str) -> None:
    """Let ``uid`` use the working folder and home, and reach them (but not list parents)."""
    for folder in (cwd, home):
        os.makedirs(folder, exist_ok=True)
        os.chown(folder, uid, uid)
    connection = os.path.join(home, "kernel-connection.json")
    if os.path.exists(connection):
        os.chown(connection, uid, uid)
    parent = os.path.dirname(cwd)
    while parent.startswith(stop_at) and parent != "/":
        os.chmod(parent, 0o711)
        parent = os.path.dirname(parent)


def _launch(command: list[str]) -> None:
    env = dict(os.environ)
    settings = {k[len(ENV_PREFIX) :]: env.pop(k) for k in list(env) if k.startswith(ENV_PREFIX)}
    hide = json.loads(settings.get("HIDE", "[]"))
    home = settings.get("HOME", os.getcwd())
    uid = int(settings.get("UID", "0"))
    threads = settings.get("THREADS", "1")

    # the connection file lives in root's runtime folder: copy it next to the kernel
    if "-f" in command:
        index = command.index("-f") + 1
        os.makedirs(home, exist_ok=True)
        copy = os.path.join(home, "kernel-connection.json")
        shutil.copyfile(command[index], copy)
        command[index] = copy
    cwd = os.getcwd()
    drop = _real_root() and uid > 0
    if drop:
        _prepare_for_user(uid, cwd, home, stop_at=os.path.dirname(home))
    if os.geteuid() == 0:
        try:
            keep = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
            keep.add(os.path.realpath(os.path.dirname(home)))  # the worker's own folder
            keep = sorted(keep)
            _hide([os.path.realpath(h) for h in hide], keep, unprivileged=drop)
        except OSError as error:
            print(f"convbook sandbox: could not hide folders: {error}", file=sys.stderr)

    limits = {
        resource.RLIMIT_AS: int(settings.get("MEMORY", "0")),
        resource.RLIMIT_FSIZE: int(settings.get("FSIZE", "0")),
        resource.RLIMIT_CORE: 0,
    }
    cpu = int(settings.get("CPU", "0"))
    for kind, value in limits.items():
        if value or kind == resource.RLIMIT_CORE:
            resource.setrlimit(kind, (value, value))
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too large file is an error, not a kill

    for key in [k for k in env if "TOKEN" in k or "SECRET" in k or "PASSWORD" in k or "KEY" in k]:
        env.pop(key)
    env.update(
        HOME=home,
        TMPDIR=home,
        MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
        IPYTHONDIR=os.path.join(home, ".ipython"),
        OMP_NUM_THREADS=threads,
        MKL_NUM_THREADS=threads,
        OPENBLAS_NUM_THREADS=threads,
        # without a network namespace, these at least make HTTP libraries fail fast
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        no_proxy="",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if drop:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        resource.setrlimit(resource.RLIMIT_NPROC, (256, 256))
    os.execvpe(command[0], command, env)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the kernel launcher: ``python -m convbook.grading.sandbox -- CMD...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise SystemExit("usage: python -m convbook.grading.sandbox -- KERNEL_COMMAND...")
    _launch(argv)


if __name__ == "__main__":
    main()
