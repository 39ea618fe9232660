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


# Inside the worker's namespaces: start the slot's zygote, then launch ``code`` as the
# worker launches a kernel, forked from it.
_FORKED = """
import json, os, subprocess, sys
from pathlib import Path
from convbook.grading import sandbox
code, folder, settings = json.loads(sys.argv[1])
processes = settings.pop("processes")
zygote = sandbox.Zygote(Path(folder), uid=60123, processes=16, wait_s=60, **{
    k: v for k, v in settings.items() if k != "cpu_cores"})
zygote.start()
(zygote.submission / "mine.ipynb").write_text("{}")
jail = sandbox.KernelJail(home=zygote.home, submission=zygote.submission, uid=60123,
                          processes=processes, zygote=zygote, **settings)
launch = [sys.executable, "-I", sandbox.__file__, "--", sys.executable, "-c", code]
done = subprocess.run(launch, env={**os.environ, **jail.env()}, capture_output=True,
                      text=True, timeout=120)
jail.remove()
zygote.stop()
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
"""


def _jailed(code: str, tmp_path, fork: bool = False, **limits) -> dict:
    """Run ``code`` as a kernel would run, inside the worker's namespaces (``fork``: forked
    from the slot's zygote, as ``convbook grade`` runs kernels); its JSON output."""
    home, submission = tmp_path / "work" / "home", tmp_path / "work" / "submission"
    settings = dict(memory_bytes=6 << 30, processes=64, cpu_seconds=60, file_bytes=1 << 20,
                    scratch_bytes=4 << 20, threads=1)  # fmt: skip
    settings.update(limits)
    if fork:
        command = [*worker_prefix(), sys.executable, "-c", _FORKED,
                   json.dumps([code, str(tmp_path / "work"), settings])]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    else:
        submission.mkdir(parents=True)
        (submission / "mine.ipynb").write_text("{}")
        jail = KernelJail(home=home, submission=submission, uid=60123, **settings)
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
        f"found['work'] = sorted(os.listdir({str(tmp_path / 'work')!r}))\n"
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
