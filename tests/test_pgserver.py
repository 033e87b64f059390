"""The throwaway PostgreSQL server used by the PostgreSQL-backed tests."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest

from tests.pgserver import DATABASE, SUPERUSER, find_pg_bin, postgres_server

pytestmark = pytest.mark.postgres


def _require_pg_bin() -> Path:
    bindir = find_pg_bin()
    if bindir is not None:
        return bindir
    reason = (
        "PostgreSQL server binaries (initdb, pg_ctl) not found; "
        "install Debian's 'postgresql' package"
    )
    if os.environ.get("LINEAGEQL_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"LINEAGEQL_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def _conninfo(url: str) -> str:
    # SQLAlchemy URL -> libpq URL
    prefix = "postgresql+psycopg://"
    assert url.startswith(prefix), url
    return "postgresql://" + url[len(prefix) :]


def test_postgres_server_starts_and_serves_concurrent_connections(tmp_path: Path) -> None:
    _require_pg_bin()

    started = time.monotonic()
    with postgres_server(tmp_path) as url:
        print(f"postgres_server started in {time.monotonic() - started:.2f}s: {url}")
        assert url.startswith(f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:")
        assert url.endswith(f"/{DATABASE}")
        conninfo = _conninfo(url)

        with psycopg.connect(conninfo) as conn:
            version = conn.execute("select version()").fetchone()[0]
            assert version.startswith("PostgreSQL ")
            assert conn.execute("select current_database()").fetchone()[0] == DATABASE
            assert conn.execute("show fsync").fetchone()[0] == "off"
            assert conn.execute("show max_connections").fetchone()[0] == "200"

        # Two connections open at the same time, each in its own transaction.
        with psycopg.connect(conninfo) as first, psycopg.connect(conninfo) as second:
            first.execute("create table t (x int)")
            first.commit()
            pid1 = first.execute("select pg_backend_pid()").fetchone()[0]
            pid2 = second.execute("select pg_backend_pid()").fetchone()[0]
            assert pid1 != pid2

            first.execute("insert into t values (1)")
            # Not committed yet: invisible to the other connection.
            assert second.execute("select count(*) from t").fetchone()[0] == 0
            second.rollback()
            first.commit()
            assert second.execute("select count(*) from t").fetchone()[0] == 1
            second.rollback()

            active = second.execute(
                "select count(*) from pg_stat_activity where datname = current_database()"
            ).fetchone()[0]
            assert active >= 2
            second.rollback()

        port = int(url.rsplit(":", 1)[1].split("/", 1)[0])

    # Stopped on exit: the port no longer accepts connections.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host="127.0.0.1", port=port, user=SUPERUSER, dbname=DATABASE, connect_timeout=5
        ).close()
    # ... and its directory is gone.
    assert not list(tmp_path.glob("pg-*"))
