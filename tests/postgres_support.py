"""A PostgreSQL server for the tests: the one CI started ($SATISFACTION_TEST_PG_URL), else a throwaway cluster started
here from the local binaries, else a reason why the PostgreSQL cases cannot run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

PG_URL_ENV = "SATISFACTION_TEST_PG_URL"  # a server URL on which the tests may create and drop databases
PG_ROOT = Path("/usr/lib/postgresql")


def pg_bin_dir() -> Path | None:
    """The newest local PostgreSQL bin directory holding initdb and pg_ctl (Debian's layout, else pg_config's)."""
    candidates = sorted((p / "bin" for p in PG_ROOT.glob("*")), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.insert(0, Path(out.stdout.strip()))
    for path in reversed(candidates):
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A throwaway cluster in a temporary directory; stop() shuts it down and removes the directory."""

    url: str
    base: Path
    bindir: Path
    as_user: list[str] = field(default_factory=list)

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster(bindir: Path) -> Cluster:
    """initdb + pg_ctl start on 127.0.0.1 at a free port, trust auth, durability off (the data are thrown away).

    PostgreSQL refuses to run as root, so under root the cluster runs as the 'postgres' system user."""
    base = Path(tempfile.mkdtemp(prefix="satisfaction-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = base / "data"
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "-t", "60", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"{Path(exc.cmd[len(as_user)]).name} failed: {(exc.stderr or exc.stdout).strip()[-500:]}") from exc
    return Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", base, bindir, as_user)


def create_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    """Drop a test database, closing whatever connections the test left open."""
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    engine.dispose()


def copy_database(server_url: str, url: str) -> str:
    """A new database on the server with the content of another (its open connections are closed first)."""
    source = sa.make_url(url).database
    name = f"t_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{source}'")
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    engine.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
