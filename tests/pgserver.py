"""A throwaway PostgreSQL server for the test session.

Usage::

    bindir = find_pg_bin()            # None when no server binaries are installed
    with postgres_server(base_dir) as url:
        ...                           # url: postgresql+psycopg://lineageql@127.0.0.1:PORT/lineageql_test

The cluster is created with ``initdb`` (trust auth, no fsync), started on a free
TCP port of 127.0.0.1 and removed again on exit (``pg_ctl stop -m immediate``).

``initdb`` and ``postgres`` refuse to run as root. When running as root the
server runs as the ``postgres`` system user (created by Debian's package) or,
failing that, as a system user ``lineageql-pg`` created on demand; the cluster
directory is chowned to that user and placed where that user can reach it
(under ``base_dir`` when possible, else in a fresh directory of the system
temp dir, since pytest's tmp dirs are private to root).

This module deliberately does not import pytest.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.net import free_port

SUPERUSER = "lineageql"
DATABASE = "lineageql_test"
FALLBACK_SYSTEM_USER = "lineageql-pg"

SERVER_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}

_PG_ROOT = Path("/usr/lib/postgresql")
_START_ATTEMPTS = 5
# sun_path holds 108 bytes on Linux; the socket is "<dir>/.s.PGSQL.<port>".
_MAX_SOCKET_PATH = 100


# --- binaries


def _has_server_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def _version_key(bindir: Path) -> tuple[int, ...]:
    name = bindir.parent.name
    if re.fullmatch(r"\d+(\.\d+)*", name):
        return tuple(int(part) for part in name.split("."))
    return (-1,)


def find_pg_bin() -> Path | None:
    """Newest ``/usr/lib/postgresql/*/bin`` with initdb and pg_ctl, else one found via PATH."""
    candidates = [d for d in _PG_ROOT.glob("*/bin") if _has_server_tools(d)]
    if candidates:
        return max(candidates, key=_version_key)
    for tool in ("initdb", "pg_ctl"):
        found = shutil.which(tool)
        if found:
            bindir = Path(found).resolve().parent
            if _has_server_tools(bindir):
                return bindir
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        if out and _has_server_tools(Path(out)):
            return Path(out)
    return None


# --- running as another user


def _clean_env() -> dict[str, str]:
    # PG* variables of the caller (PGDATA, PGPORT, PGHOST, ...) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    return env


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class _Runner:
    """Runs commands as the server's user (``None``: as ourselves)."""

    def __init__(self, user: str | None) -> None:
        self.user = user
        if user is None:
            self.uid, self.gid = os.geteuid(), os.getegid()
        else:
            entry = pwd.getpwnam(user)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def argv(self, args: list[str]) -> list[str]:
        if self.user is None:
            return args
        if shutil.which("runuser"):
            return ["runuser", "-u", self.user, "--", *args]
        return ["su", self.user, "-s", "/bin/sh", "-c", shlex.join(args)]

    def run(
        self, args: list[str], *, cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        argv = self.argv(args)
        try:
            return subprocess.run(
                argv,
                cwd=cwd,
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"timed out after {timeout:.0f}s: {shlex.join(argv)}") from exc
        except OSError as exc:
            raise RuntimeError(f"could not run {shlex.join(argv)}: {exc}") from exc

    def chown(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.uid, self.gid)


def _server_user() -> str | None:
    """The user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_SYSTEM_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    cmd = [
        "useradd",
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        FALLBACK_SYSTEM_USER,
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"could not create system user {FALLBACK_SYSTEM_USER}: {exc}") from exc
    try:
        pwd.getpwnam(FALLBACK_SYSTEM_USER)  # also fine if a parallel run created it first
    except KeyError:
        raise RuntimeError(
            f"initdb/postgres cannot run as root and no 'postgres' user exists; "
            f"creating {FALLBACK_SYSTEM_USER} failed (exit {result.returncode}):\n"
            f"{_tail(result.stderr)}"
        ) from None
    return FALLBACK_SYSTEM_USER


# --- cluster


def _make_cluster_dir(base_dir: Path, runner: _Runner) -> Path:
    """A fresh 0o755 directory owned by the server user that the user can reach."""
    parents = [base_dir, Path(tempfile.gettempdir()), Path("/tmp")]
    tried: list[str] = []
    for parent in dict.fromkeys(parents):
        try:
            parent.mkdir(parents=True, exist_ok=True)
            cluster = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
        except OSError as exc:
            tried.append(f"{parent}: {exc}")
            continue
        cluster.chmod(0o755)
        if len(str(cluster / "sock" / ".s.PGSQL.65535")) > _MAX_SOCKET_PATH:
            tried.append(f"{parent}: path too long for a Unix socket")
            shutil.rmtree(cluster, ignore_errors=True)
            continue
        if runner.user is not None:
            runner.chown(cluster)
            probe = runner.run(
                ["sh", "-c", 'test -w "$1" && test -x "$1"', "sh", str(cluster)],
                cwd=Path("/"),
                timeout=30,
            )
            if probe.returncode != 0:
                tried.append(f"{parent}: not reachable by user {runner.user}")
                shutil.rmtree(cluster, ignore_errors=True)
                continue
        return cluster
    raise RuntimeError("no usable directory for the PostgreSQL cluster:\n" + "\n".join(tried))


def _read_tail(path: Path, lines: int = 40) -> str:
    try:
        return _tail(path.read_text(errors="replace"), lines)
    except OSError:
        return "(no log)"


def _fail(
    what: str, result: subprocess.CompletedProcess[str], log: Path | None = None
) -> RuntimeError:
    parts = [f"{what} failed (exit {result.returncode}): {shlex.join(result.args)}"]
    if result.stderr.strip():
        parts.append("--- stderr ---\n" + _tail(result.stderr))
    if result.stdout.strip():
        parts.append("--- stdout ---\n" + _tail(result.stdout))
    if log is not None:
        parts.append(f"--- server log ({log.name}) ---\n" + _read_tail(log))
    return RuntimeError("\n".join(parts))


def _initdb(bindir: Path, runner: _Runner, cluster: Path, data: Path) -> None:
    result = runner.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        cwd=cluster,
        timeout=180,
    )
    if result.returncode != 0:
        raise _fail("initdb", result)


def _start(bindir: Path, runner: _Runner, cluster: Path, data: Path, sock: Path, log: Path) -> int:
    """Starts the server on a free port (retrying on a port clash) and returns the port."""
    settings = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
    error: RuntimeError | None = None
    for _ in range(_START_ATTEMPTS):
        port = free_port()
        options = f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(sock))} -F {settings}"
        result = runner.run(
            [
                str(bindir / "pg_ctl"),
                "-w",
                "-t",
                "120",
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                options,
                "start",
            ],
            cwd=cluster,
            timeout=180,
        )
        if result.returncode == 0:
            return port
        error = _fail("pg_ctl start", result, log)
        _stop(bindir, runner, cluster, data)
        log_text = _read_tail(log, 200)
        if "could not bind" not in log_text and "already in use" not in log_text:
            break
    assert error is not None
    raise error


def _stop(bindir: Path, runner: _Runner, cluster: Path, data: Path) -> None:
    pidfile = data / "postmaster.pid"
    if not pidfile.exists():
        return
    with contextlib.suppress(RuntimeError):
        runner.run(
            [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w", "-t", "30"],
            cwd=cluster,
            timeout=60,
        )
    if not pidfile.exists():
        return
    # pg_ctl could not stop it: kill the postmaster ourselves.
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.05)


def _create_database(bindir: Path, port: int, log: Path) -> None:
    try:
        import psycopg
    except ImportError:
        result = subprocess.run(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                SUPERUSER,
                DATABASE,
            ],
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise _fail("createdb", result, log) from None
        return
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user=SUPERUSER,
            dbname="postgres",
            autocommit=True,
            connect_timeout=30,
        ) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
    except psycopg.Error as exc:
        raise RuntimeError(
            f"creating database {DATABASE} failed: {exc}\n"
            f"--- server log ({log.name}) ---\n{_read_tail(log)}"
        ) from exc


@contextlib.contextmanager
def postgres_server(base_dir: Path) -> Iterator[str]:
    """Starts a throwaway PostgreSQL server; yields its SQLAlchemy URL.

    Raises RuntimeError (with the captured output / server log tail) if anything fails.
    """
    bindir = find_pg_bin()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; "
            "install Debian's 'postgresql' package"
        )
    runner = _Runner(_server_user())
    cluster = _make_cluster_dir(Path(base_dir), runner)
    data, sock, log = cluster / "data", cluster / "sock", cluster / "server.log"
    try:
        sock.mkdir(mode=0o700)
        runner.chown(sock)
        _initdb(bindir, runner, cluster, data)
        port = _start(bindir, runner, cluster, data, sock, log)
        _create_database(bindir, port, log)
        yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        _stop(bindir, runner, cluster, data)
        shutil.rmtree(cluster, ignore_errors=True)
