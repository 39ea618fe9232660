"""The kernel's jail: what it sees, its total limits, and grading that fails closed."""

import json
import os
import socket
import subprocess
import sys

import pytest

from convbook.grading import sandbox
from convbook.grading.sandbox import KernelJail, missing, worker_prefix

pytestmark = pytest.mark.skipif(
    bool(missing()), reason=f"this machine cannot run the sandbox: {missing()}"
)


# Inside the worker's namespaces: get the slot's zygote as the worker does
# (``worker._zygote_for``), then take ``steps`` in turn: a string is code launched as the
# worker launches a kernel, forked from the zygote (its output, one JSON line, goes to
# stdout, where the script also writes a {"step": ...} line per step); "kill" and "stop"
# send SIGKILL or SIGSTOP to the zygote's Python; "starve" leaves no process to its cgroup
# (it cannot fork) and "feed" gives them back; "renew" asks the worker for the slot's
# zygote again.
_SLOT = """
import json, os, signal, subprocess, sys, time
from pathlib import Path
from convbook.grading import sandbox, worker
from convbook.grading.records import Request
steps, folder, settings = json.loads(sys.argv[1])
processes = settings.pop("processes")
request = Request(
    work_dir=str(Path(folder) / "notebook"), submission="", student="", assignment="",
    notebook="", config_file="", release_notebook="", source_notebook="", template_db="",
    uid=60123, memory_bytes=settings["memory_bytes"], file_bytes=settings["file_bytes"],
    threads=settings["threads"])
zygote = worker._zygote_for(request, None)


def report(**found):
    print(json.dumps({"step": found}), flush=True)


def its_python():
    for pid in zygote.pids():
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\\0")
        if b"convbook.grading.zygote" in command and b"bwrap" not in command[0]:
            return pid


for step in steps:
    if step in ("kill", "stop"):
        os.kill(its_python(), signal.SIGKILL if step == "kill" else signal.SIGSTOP)
        time.sleep(0.2)
        report(did=step)
        continue
    if step in ("starve", "feed"):
        pids = sandbox._own_cgroup("pids") / f"convbook-kernel-{zygote.jail.cgroup}"
        count = (pids / "pids.current").read_text() if step == "starve" else "max"
        (pids / "pids.max").write_text(count)
        report(did=step)
        continue
    if step == "renew":
        new = worker._zygote_for(request, zygote)
        report(did=step, same=new is zygote, alive=new.alive())
        zygote = new
        continue
    zygote.empty_submission()
    (zygote.submission / "mine.ipynb").write_text("{}")
    jail = sandbox.KernelJail(home=zygote.home, submission=zygote.submission, uid=60123,
                              processes=processes, zygote=zygote, **settings)
    launch = [sys.executable, "-I", sandbox.__file__, "--", sys.executable, "-c", step]
    started = time.monotonic()
    done = subprocess.run(launch, env={**os.environ, **jail.env()}, capture_output=True,
                          text=True, timeout=150)
    jail.remove()
    sys.stdout.write(done.stdout)  # a kernel started on its own writes here
    report(did="launch", rc=done.returncode, seconds=time.monotonic() - started,
           log=done.stderr[-2000:])
zygote.stop()
"""

_SETTINGS = dict(memory_bytes=6 << 30, processes=64, cpu_seconds=60, file_bytes=1 << 20,
                 scratch_bytes=4 << 20, threads=1)  # fmt: skip


def _slot(steps: list[str], tmp_path, **limits) -> list[dict]:
    """Take ``steps`` (see ``_SLOT``) in one worker slot; every JSON line they printed."""
    settings = {**_SETTINGS, **limits}
    command = [*worker_prefix(), sys.executable, "-c", _SLOT,
               json.dumps([steps, str(tmp_path / "work"), settings])]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-2000:]
    return lines


def _jailed(code: str, tmp_path, fork: bool = False, **limits) -> dict:
    """Run ``code`` as a kernel would run, inside the worker's namespaces (``fork``: forked
    from the slot's zygote, as ``convbook grade`` runs kernels); its JSON output."""
    if fork:
        found = _slot([code], tmp_path, **limits)
        assert "step" not in found[0], found
        return found[0]
    home, submission = tmp_path / "work" / "home", tmp_path / "work" / "submission"
    submission.mkdir(parents=True)
    (submission / "mine.ipynb").write_text("{}")
    jail = KernelJail(home=home, submission=submission, uid=60123, **{**_SETTINGS, **limits})
    env = {**os.environ, **jail.env()}
    command = [*worker_prefix(), sys.executable, "-I", sandbox.__file__, "--"]
    command += [sys.executable, "-c", code]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    jail.remove()
    assert done.stdout.strip(), done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("fork", [False, True], ids=["started", "forked"])
def test_kernel_sees_only_system_files_python_its_submission_and_scratch(tmp_path, fork):
    secret = tmp_path / "solutions" / "answer.txt"
    secret.parent.mkdir()
    secret.write_text("42")
    code = (
        "import json, os, sys\n"
        "found = {'uid': os.getuid(), 'cwd': sorted(os.listdir('.'))}\n"
        "found['preloaded'] = 'torch' in sys.modules\n"
        f"found['secret'] = os.path.exists({str(secret)!r})\n"
        "found['work'] = sorted(os.listdir('..'))\n"
        "found['root_home'] = os.path.exists('/root/.bashrc')\n"
        "try:\n    open('x.py', 'w')\n    found['cwd_writable'] = True\n"
        "except OSError:\n    found['cwd_writable'] = False\n"
        "open(os.path.join(os.environ['HOME'], 'scratch.txt'), 'w').write('ok')\n"
        "import torch\nfound['torch'] = torch.__version__\n"
        "print(json.dumps(found))"
    )
    found = _jailed(code, tmp_path, fork=fork)
    assert found["preloaded"] is fork  # a forked kernel found PyTorch already imported
    assert found["uid"] != 0 and not found["secret"] and not found["root_home"]
    assert found["cwd"] == ["kernel-connection.json", "mine.ipynb"] or found["cwd"] == [
        "mine.ipynb"
    ]
    assert found["work"] == ["home", "submission"]  # nothing of the course or gradebook
    assert found["cwd_writable"] is False and found["torch"]


def test_limits_are_totals_not_per_process(tmp_path):
    # four processes of 300 MB each pass a 1 GB address-space limit per process, but not a
    # 1 GB total; the scratch folder holds 4 MB in all, whatever the file sizes
    code = (
        "import json, os, time\n"
        "pids = []\n"
        "for _ in range(4):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        block = bytearray(300 << 20)\n"
        "        for i in range(0, len(block), 4096):\n"
        "            block[i] = 1\n"
        "        time.sleep(3)\n"
        "        os._exit(0)\n"
        "    pids.append(pid)\n"
        "codes = [os.waitpid(p, 0)[1] for p in pids]\n"
        "written = 0\n"
        "try:\n"
        "    for i in range(10):\n"
        "        with open(os.path.join(os.environ['HOME'], f'f{i}'), 'wb') as f:\n"
        "            f.write(b'x' * (900 << 10))\n"
        "        written += 1\n"
        "except OSError:\n    pass\n"
        "forks = 0\n"
        "try:\n"
        "    for _ in range(100):\n"
        "        if os.fork() == 0:\n            time.sleep(5)\n            os._exit(0)\n"
        "        forks += 1\n"
        "except OSError:\n    pass\n"
        "print(json.dumps({'killed': sum(c != 0 for c in codes), 'written': written,"
        " 'forks': forks}))"
    )
    found = _jailed(code, tmp_path, memory_bytes=1 << 30, processes=16)
    assert found["killed"] >= 1  # the cgroup's total stopped at least one of them
    assert found["written"] < 10  # 9 MB do not fit in 4 MB of scratch
    assert found["forks"] < 16


def test_worker_namespace_cannot_reach_a_server_on_the_host():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = (
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('online')\n"
            "except OSError:\n    print('offline')"
        )
        probe = [sys.executable, "-c", code]
        outside = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        inside = subprocess.run(
            [*worker_prefix(), *probe], capture_output=True, text=True, timeout=60
        )
    assert (outside.stdout.strip(), inside.stdout.strip()) == ("online", "offline")


def test_probe_finds_this_machine_ready():
    assert missing() == ()


@pytest.mark.parametrize("fork", [False, True], ids=["started", "forked"])
def test_cpu_time_is_capped_for_the_kernel_and_its_processes_together(tmp_path, fork):
    # two busy processes for 1.5 s of wall time: up to 3 s of CPU on two free cores (0.3 s
    # was seen with the machine fully busy), at most 0.08 s under a twentieth of a core
    code = (
        "import json, os, resource, time\n"
        "for _ in range(2):\n"
        "    if os.fork() == 0:\n"
        "        end = time.monotonic() + 1.5\n"
        "        while time.monotonic() < end:\n            pass\n"
        "        os._exit(0)\n"
        "os.wait(); os.wait()\n"
        "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'cpu': used.ru_utime + used.ru_stime}))"
    )
    found = _jailed(code, tmp_path, fork=fork, cpu_cores=0.05)
    assert found["cpu"] < 0.2, found  # so a forked kernel is in its own cgroups at once


# -- kernels of one slot, one after another ----------------------------------------------

_LITTER = """
import json, os, sys
os.chdir("/tmp")
for _ in range(1500):  # deeper than any recursive wipe goes
    os.mkdir("d")
    os.chdir("d")
os.chdir(os.environ["HOME"])
for _ in range(25):  # 25 * 201 characters: longer than PATH_MAX (4096)
    os.mkdir("x" * 200)
    os.chdir("x" * 200)
with open("left.txt", "w") as handle:
    handle.write("the first student's")
with open("/dev/shm/left", "w") as handle:
    handle.write("the first student's")
print(json.dumps({"preloaded": "torch" in sys.modules, "uid": os.getuid(),
                  "home": os.listdir(os.environ["HOME"])}))
"""

_LOOK = """
import json, os, sys
preloaded = "torch" in sys.modules  # before this kernel's own import
import torch
print(json.dumps({"preloaded": preloaded, "tmp": sorted(os.listdir("/tmp")),
                  "home": os.listdir(os.environ["HOME"]), "shm": os.listdir("/dev/shm"),
                  "sum": float(torch.ones(3).sum())}))
"""


def _kernels(found: list[dict]) -> list[dict]:
    return [line for line in found if "step" not in line]


def _steps(found: list[dict]) -> list[dict]:
    return [line["step"] for line in found if "step" in line]


def test_nothing_a_forked_kernel_writes_reaches_the_next(tmp_path):
    first, second = _kernels(_slot([_LITTER, _LOOK], tmp_path))
    assert first["preloaded"] and first["uid"] == 60123 and first["home"] == ["x" * 200]
    assert second["preloaded"]  # forked from the same zygote, which survived the litter
    assert "d" not in second["tmp"]  # only the folders above the read-only binds, if any
    assert second["home"] == [] and second["shm"] == [] and second["sum"] == 3.0


_SIGNAL_ZYGOTE = """
import json, os, signal
zygote = os.getppid()
tried = {}
for target, name in ((zygote, "zygote"), (1, "init")):
    for signum in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(target, signum)
            tried[f"{name} {signum.name}"] = "sent"
        except PermissionError:
            tried[f"{name} {signum.name}"] = "refused"
for what in ("environ", "mem"):
    try:
        open(f"/proc/{zygote}/{what}", "rb").read(1)
        tried[what] = "read"
    except OSError:
        tried[what] = "refused"
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
caps = {key: int(status[key], 16) for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
print(json.dumps({"tried": tried, "caps": caps, "no_new_privs": status["NoNewPrivs"].strip(),
                  "uid": os.getuid(), "groups": os.getgroups()}))
"""


def test_a_forked_kernel_cannot_signal_or_read_its_zygote(tmp_path):
    found = _slot([_SIGNAL_ZYGOTE, _LOOK], tmp_path)
    first, second = _kernels(found)
    assert set(first["tried"].values()) == {"refused"}, first
    assert set(first["caps"].values()) == {0} and first["no_new_privs"] == "1"
    assert first["uid"] == 60123 and first["groups"] == []
    assert second["preloaded"], _steps(found)  # the same zygote served the next one


_TRIVIAL = "import json, sys\nprint(json.dumps({'preloaded': 'torch' in sys.modules}))"


@pytest.mark.parametrize("harm", ["kill", "stop"])
def test_a_dead_or_stopped_zygote_means_a_kernel_of_its_own_then_a_new_zygote(tmp_path, harm):
    found = _slot([_TRIVIAL, harm, _TRIVIAL, "renew", _TRIVIAL], tmp_path)
    kernels, steps = _kernels(found), _steps(found)
    launches = [step for step in steps if step["did"] == "launch"]
    assert [k["preloaded"] for k in kernels] == [True, False, True], steps
    assert [step["rc"] for step in launches] == [0, 0, 0], steps
    assert launches[1]["seconds"] < 20, steps  # at once, not after the zygote's time-outs
    renewed = next(step for step in steps if step["did"] == "renew")
    assert renewed == {"did": "renew", "same": False, "alive": True}


def test_a_zygote_that_cannot_fork_means_a_kernel_of_its_own(tmp_path):
    found = _slot([_TRIVIAL, "starve", _TRIVIAL, "feed", _TRIVIAL], tmp_path)
    kernels, steps = _kernels(found), _steps(found)
    launches = [step for step in steps if step["did"] == "launch"]
    assert [k["preloaded"] for k in kernels] == [True, False, True], steps
    assert [step["rc"] for step in launches] == [0, 0, 0], steps
    assert "could not fork" in launches[1]["log"]  # said in the worker's log


_ENVIRONMENT = """
import json, os
with open("/proc/self/environ", "rb") as handle:
    initial = handle.read().decode(errors="replace")
data = os.environ.get("CONVBOOK_DATA_DIR")
print(json.dumps({"env": dict(os.environ), "initial": initial,
                  "data": sorted(os.listdir(data)) if data else None}))
"""


@pytest.mark.parametrize("fork", [False, True], ids=["started", "forked"])
def test_the_kernel_environment_is_an_allow_list(tmp_path, monkeypatch, fork):
    from convbook.grading import policy

    data = tmp_path / "data"
    data.mkdir()
    (data / "sample.npz").write_bytes(b"")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@h/db")
    monkeypatch.setenv("GH_PAT", "ghp_x")
    monkeypatch.setenv("RANDOM_THING", "1")
    monkeypatch.setenv("CONVBOOK_BUDGET", "full")  # the instructor's; kernels get smoke
    monkeypatch.setenv("CONVBOOK_DATA_DIR", str(data))
    found = _jailed(_ENVIRONMENT, tmp_path, fork=fork)
    env = found["env"]
    for name in ("DATABASE_URL", "GH_PAT", "RANDOM_THING"):
        assert name not in env and name not in found["initial"]
    assert "pw@h" not in found["initial"] and "ghp_x" not in found["initial"]
    assert env["CONVBOOK_DATA_DIR"] == str(data) and found["data"] == ["sample.npz"]
    assert env["CONVBOOK_BUDGET"] == "smoke"
    allowed = policy.kernel_env(dict.fromkeys(policy.KERNEL_ENV_PASSED, ""), home="", threads=1)
    assert set(env) - {"PWD"} <= set(allowed), set(env) - set(allowed)  # PWD: bubblewrap's
