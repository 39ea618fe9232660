"""A kernel factory inside the jail: PyTorch imported once per worker, forked per notebook.

Starting a grading kernel costs about 2.5 s of CPU before the first cell runs, almost all
of it importing ipykernel and PyTorch. The zygote pays that once per worker slot. It is
started like a kernel, through ``sandbox`` (bubblewrap, the slot's user, a cgroup of its
own), imports the modules every notebook needs and then forks one kernel per notebook.
Each fork gets the limits and folders of its notebook (see ``sandbox.spawn_from_zygote``,
the other end):

* the launcher moves the fork into the notebook's own cgroups before it runs anything;
* the fork empties the scratch folders (HOME, /tmp, /dev/shm), so nothing an earlier
  notebook of the slot wrote can be read, sets its notebook's resource limits and
  environment, reseeds the random generators and becomes an ipykernel kernel;
* the zygote keeps no secret: it holds no test, no submission and no connection key
  before it forks. It is not dumpable (no ptrace, no /proc/PID/mem for the kernels), and
  its control socket is an inherited descriptor that every fork closes at once, so a
  kernel cannot ask it for anything. A kernel can only kill or stop it, which the worker
  notices (then it starts a new one, or the launcher starts the kernel the slow way).

It serves ``python -m ipykernel_launcher ARGS`` and ``python -c CODE`` (the sandbox's
tests). Protocol, one connection per kernel, JSON lines: the launcher sends ``{"argv", "env",
"cwd", "limits", "threads", "wipe"}``; the zygote forks and answers ``{"pid": P}`` (P in the
jail's process table); the launcher moves P into its cgroups and sends ``{"go": true}``;
after that it may send ``{"signal": N}`` (interrupts); the zygote answers
``{"exit": CODE}`` when the kernel ends. If the launcher's end closes first, the kernel
and its process group are killed.

Run as ``python -m convbook.grading.zygote --fd N`` (N: the listening socket).
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

from convbook.grading.sandbox import Lines, wipe

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
    "convbook.grading.scope",
)
_IGNORED = (
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
    signal.SIGUSR2, signal.SIGALRM, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU,
)  # fmt: skip
_PR_SET_DUMPABLE = 4


def _not_dumpable() -> None:
    """No process of the same user may ptrace this one or read its memory."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _become_kernel(request: dict, saved: dict) -> None:
    """In the fork: take the notebook's limits, folders and environment, then run ipykernel."""
    for signum, handler in saved.items():
        signal.signal(signum, handler)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too large file is an error, not a kill
    os.setsid()
    for folder in request.get("wipe", []):
        wipe(folder)
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


def _serve_one(listener: socket.socket, conn: socket.socket, saved: dict) -> None:
    lines = Lines(conn)
    request = lines.read()
    if request is None:
        return
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the kernel-to-be
        code = 1
        try:
            listener.close()
            conn.close()
            os.close(ready_w)
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
    os.close(ready_r)
    try:
        lines.send({"pid": pid})
        answer = lines.read()
        if not answer or not answer.get("go"):
            _kill(pid)
            return
        os.write(ready_w, b"g")
        os.close(ready_w)
        ready_w = -1
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                lines.send({"exit": os.waitstatus_to_exitcode(status)})
                return
            readable = b"\n" in lines.buffer or select.select([conn], [], [], 0.1)[0]
            if readable:
                message = lines.read()
                if message is None:  # the launcher is gone: so is the kernel
                    _kill(pid)
                    return
                if "signal" in message:
                    try:
                        os.kill(pid, int(message["signal"]))
                    except OSError:
                        pass
    except (OSError, ValueError):
        _kill(pid)
    finally:
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
    _not_dumpable()
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
    while True:
        conn, _ = listener.accept()
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
