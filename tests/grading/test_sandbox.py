"""The kernel launcher: hidden folders, an unprivileged user, limits, no network."""

import os
import socket
import subprocess
import sys

import pytest

from convbook.grading.sandbox import jail_env, worker_prefix

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="folder hiding and user switching need root"
)


def _jailed(code: str, tmp_path, hide) -> subprocess.CompletedProcess:
    home = tmp_path / "work" / "home"
    home.mkdir(parents=True)
    env = dict(os.environ)
    env.update(jail_env(hide=hide, home=home, uid=60123, memory_bytes=2 << 30, cpu_seconds=30,
                        file_bytes=1 << 20, threads=1))  # fmt: skip
    command = [sys.executable, "-m", "convbook.grading.sandbox", "--", sys.executable, "-c", code]
    return subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=60)


@needs_root
def test_kernel_runs_as_its_own_user_and_cannot_see_hidden_folders(tmp_path):
    secret = tmp_path / "solutions"
    secret.mkdir()
    (secret / "answer.txt").write_text("42")
    code = (
        "import os\n"
        f"print(os.getuid(), os.path.exists({str(secret / 'answer.txt')!r}),"
        " os.path.exists('/root/.bashrc'))"
    )
    done = _jailed(code, tmp_path, [secret])
    assert done.stdout.split() == ["60123", "False", "False"], done.stderr


@needs_root
def test_kernel_cannot_write_huge_files_or_allocate_past_its_limit(tmp_path):
    code = (
        "try:\n    open('big', 'wb').write(b'x' * (2 << 20))\n"
        "except OSError as e:\n    print('fsize', e.errno)\n"
        "try:\n    bytearray(3 << 30)\nexcept MemoryError:\n    print('memory')"
    )
    done = _jailed(code, tmp_path, [])
    assert done.stdout.split() == ["fsize", "27", "memory"], done.stderr


def test_worker_namespace_cannot_reach_a_server_on_the_host():
    prefix = worker_prefix()
    if not prefix:
        pytest.skip("unshare is not allowed here")
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
        inside = subprocess.run([*prefix, *probe], capture_output=True, text=True, timeout=60)
    assert (outside.stdout.strip(), inside.stdout.strip()) == ("online", "offline")


@needs_root
def test_hidden_folder_inside_the_kept_work_folder_stays_hidden(tmp_path):
    # the worker keeps its own folder visible but hides its gradebook inside it
    gradebook = tmp_path / "work" / "db"
    gradebook.mkdir(parents=True)
    (gradebook / "gradebook.db").write_text("secret")
    code = f"import os\nprint(os.path.exists({str(gradebook / 'gradebook.db')!r}))"
    done = _jailed(code, tmp_path, [tmp_path, gradebook])
    assert done.stdout.split() == ["False"], done.stderr
