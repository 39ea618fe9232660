"""A throw-away PostgreSQL server for the tests (issue 22), and the helpers its fixtures use.

``start_server(folder)`` runs Debian's PostgreSQL (``make postgres`` installs it) in
``folder``: ``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the
``postgres`` user (``runuser``), and the folder must be one that user can reach (under
``/tmp``, not ``/root``). The server listens on 127.0.0.1 at a free port and on a unix
socket in ``folder``; the role ``convbook`` logs in with a password over TCP and owns the
databases the tests create. Settings favour speed over durability (no fsync).

A watchdog process holds the other end of a pipe from the process that started the server:
when that process ends, however it ends (a failed test session, Ctrl-C, SIGKILL), the pipe
closes and the watchdog stops the server and removes ``folder``, so no server outlives its
test session.

Outside pytest (a benchmark or a script)::

    import sys, tempfile
    sys.path.insert(0, "tests")
    from postgres import create_database, start_server

    url_base, stop = start_server(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    try:
        url = create_database(url_base, "course")  # postgresql://convbook:PW@127.0.0.1:PORT/course
        ...
    finally:
        stop()

``python tests/postgres.py`` starts a server, prints its URL and waits for Ctrl-C.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["ROLE", "create_database", "drop_database", "server_bindir", "start_server"]

ROLE = "convbook"  # the role the URLs log in as; it owns its databases
SERVER_USER = "postgres"  # the system user that runs the server when we are root

# Appended to postgresql.conf. The port is given at start, so a clash can retry another.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{folder}'
shared_buffers = 32MB
max_connections = 60
fsync = off
synchronous_commit = off
full_page_writes = off
"""

# Runs until the pipe from the starting process closes, then stops the server and removes
# the folder. Exit status 1: ``pg_ctl stop`` failed.
WATCHDOG = """
import os, shutil, subprocess, sys
sys.stdin.buffer.read()
folder, pg_ctl, data, *as_user = sys.argv[1:]
status = 0
if os.path.exists(os.path.join(data, "postmaster.pid")):
    stop = [*as_user, pg_ctl, "-D", data, "-m", "immediate", "-w", "-t", "60", "stop"]
    status = subprocess.run(stop, capture_output=True).returncode
shutil.rmtree(folder, ignore_errors=True)
sys.exit(1 if status else 0)
"""


def _version(bindir: Path) -> tuple[int, ...]:
    """``(15,)`` for ``/usr/lib/postgresql/15/bin``."""
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def server_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``.

    ``$PG_BINDIR`` when set (and only it); else Debian's newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian keeps the server programs off PATH); else
    the folder of the ``pg_ctl`` on PATH, links resolved (as ``/usr/local/bin/pg_ctl`` is on
    the dev machines, a link into Debian's folder).

    Raises:
        RuntimeError: if no PostgreSQL server is installed.
    """
    if os.environ.get("PG_BINDIR"):
        candidates = [Path(os.environ["PG_BINDIR"])]
    else:
        debian = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if _version(p)]
        candidates = sorted(debian, key=_version, reverse=True)
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise RuntimeError(
        "no PostgreSQL server found (initdb and pg_ctl): `make postgres` installs Debian's "
        "(apt-get install postgresql), or set PG_BINDIR to the folder holding them"
    )


def _as_server_user() -> list[str]:
    """The command prefix that runs a server program as a user it accepts."""
    if os.geteuid() != 0:
        return []  # any user but root may run initdb and pg_ctl
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise RuntimeError(
            f"running as root, but there is no {SERVER_USER!r} user to run the server as "
            "(Debian's postgresql package creates it)"
        ) from None
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if runuser is None:
        raise RuntimeError("running as root, but runuser (util-linux) is missing")
    return [runuser, "-u", SERVER_USER, "--"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list, what: str) -> None:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    if done.returncode != 0:
        told = (done.stdout + done.stderr)[-2000:]
        raise RuntimeError(f"{what} failed (exit status {done.returncode}): {told}")


def start_server(folder: str | Path) -> tuple[str, Callable[[], None]]:
    """Start a PostgreSQL server whose files all live in ``folder``.

    Args:
        folder: an empty or missing folder that the ``postgres`` user can reach (as root:
            every folder above it must be searchable by others, so ``/tmp/...``).

    Returns:
        ``(url_base, stop)``. ``url_base`` is ``postgresql://convbook:PW@127.0.0.1:PORT``
        with no database: add ``/convbook`` for the role's own empty database, or call
        ``create_database(url_base, name)``. ``stop()`` stops the server and removes
        ``folder``; calling it again does nothing.

    Raises:
        RuntimeError: if the server programs are missing or the server does not start;
            the message says why (with the end of the server's log).
    """
    bindir = server_bindir()
    as_user = _as_server_user()
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    if as_user:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(folder, account.pw_uid, account.pw_gid)
    data, log = folder / "data", folder / "server.log"
    watchdog = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, folder, bindir / "pg_ctl", data, *as_user],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C to the test run must not kill it first
    )

    def stop() -> None:
        if watchdog.stdin.closed:
            return
        watchdog.stdin.close()
        if watchdog.wait(timeout=120) != 0:
            raise RuntimeError(f"pg_ctl stop failed for the test server in {folder}")

    try:
        reachable = subprocess.run([*as_user, "test", "-w", folder, "-a", "-x", folder])
        if reachable.returncode != 0:
            raise RuntimeError(
                f"user {SERVER_USER!r} cannot reach {folder}: use a folder under /tmp"
            )
        _run(
            [*as_user, bindir / "initdb", "-D", data, "-U", "postgres", "-E", "UTF8"]
            + ["--no-locale", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"],
            "initdb",
        )
        # The socket sits in the folder only the server user (and root) can enter, so
        # trusting it is safe; TCP logins need the password.
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(SETTINGS.format(folder=folder))
        port = _start(bindir, as_user, data, log)
        password = secrets.token_hex(16)
        with _connect(f"host={folder} port={port} user=postgres dbname=postgres") as admin:
            admin.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{password}'")
            admin.execute(f"CREATE DATABASE {ROLE} OWNER {ROLE}")
    except BaseException:
        stop()
        raise
    return f"postgresql://{ROLE}:{password}@127.0.0.1:{port}", stop


def _start(bindir: Path, as_user: list[str], data: Path, log: Path, tries: int = 5) -> int:
    """Start the server on a free port (another may take it first: then another port)."""
    for _ in range(tries):
        port = _free_port()
        start = [*as_user, bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60"]
        done = subprocess.run(
            [str(part) for part in [*start, "-o", f"-p {port}", "start"]],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return port
        told = log.read_text(errors="replace") if log.exists() else done.stdout + done.stderr
        if "could not bind" not in told and "already in use" not in told:
            break
    raise RuntimeError(f"the PostgreSQL server did not start; its log ends:\n{told[-2000:]}")


def _connect(conninfo: str):
    """An autocommit psycopg connection (CREATE/DROP DATABASE refuse transactions)."""
    import psycopg

    return psycopg.connect(conninfo, autocommit=True, connect_timeout=30)


def create_database(url_base: str, name: str) -> str:
    """Create an empty database owned by the server's role.

    Args:
        url_base: what ``start_server`` returned.
        name: a new database name: lower-case letters, digits and ``_``.

    Returns:
        Its URL, ``url_base + "/" + name``.

    Raises:
        ValueError: if ``name`` is not a plain identifier.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"database name must be a lower-case identifier, got {name!r}")
    with _connect(f"{url_base}/{ROLE}") as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{url_base}/{name}"


def drop_database(url_base: str, name: str) -> None:
    """Drop a database made by ``create_database``, closing connections still open to it."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"database name must be a lower-case identifier, got {name!r}")
    with _connect(f"{url_base}/{ROLE}") as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    import tempfile
    import time

    url_base, stop = start_server(tempfile.mkdtemp(prefix="convbook-pg-", dir="/tmp"))
    print(f"{url_base}/{ROLE}  (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop()
