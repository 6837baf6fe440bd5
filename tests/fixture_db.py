"""Job-store fixtures: a store on a throwaway SQLite file, and on PostgreSQL when it is installed.

PostgreSQL runs as a private cluster (initdb + pg_ctl from /usr/lib/postgresql/*/bin) in a temp
folder, listening on a free loopback port and a socket in that folder; it starts once per session
and is stopped and removed at the end. initdb refuses to run as root, so under root the cluster
runs as ``nobody`` (via runuser). Each test gets its own database in that cluster.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from secrets import token_hex

import pytest
from sqlalchemy import create_engine, text

from renderer.jobs.store import JobStore, open_store

PG_USER = "nobody"  # the account the cluster runs as when tests run as root


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Cluster:
    """A PostgreSQL cluster in a temp folder, owned by the test session."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="tailor-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam(PG_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", PG_USER, "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        initdb = str(self.bin / "initdb")
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        log = str(self.root / "server.log")
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            log,
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[_Cluster | str]:
    """A running throwaway cluster, or the reason there is none (the PostgreSQL tests skip)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        yield "PostgreSQL binaries (initdb, pg_ctl) not found"
        return
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user(PG_USER)):
        yield f"running as root and cannot run initdb as {PG_USER!r} (runuser or the account is missing)"
        return
    cluster = _Cluster(bin_dir)
    try:
        cluster.start()
    except (OSError, subprocess.SubprocessError) as exc:
        cluster.stop()
        detail = getattr(exc, "stderr", "") or str(exc)
        yield f"could not start a throwaway PostgreSQL cluster: {detail.strip()[:300]}"
        return
    try:
        yield cluster
    finally:
        cluster.stop()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def job_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty job-store database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    postgres_cluster: _Cluster | str = request.getfixturevalue("postgres_cluster")
    if isinstance(postgres_cluster, str):
        pytest.skip(postgres_cluster)
    database = f"tailor_{token_hex(6)}"
    admin = create_engine(postgres_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return postgres_cluster.url(database)


@pytest.fixture
def job_store(job_store_url: str) -> Iterator[JobStore]:
    """An open, migrated job store on each backend; closed after the test."""
    store = open_store(job_store_url)
    try:
        yield store
    finally:
        store.close()
