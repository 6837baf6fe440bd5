"""Helpers shared by the benchmarks."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from renderer.settings import PROJECT_ROOT


def sample_csv(folder: Path, rows: int, seed: int = 1) -> Path:
    """Write `rows` deterministic bill-summary recipients with the CLI's own generator."""
    path = folder / "recipients.csv"
    command = [sys.executable, "-m", "renderer", "sample-data", "bill-summary", "--rows", str(rows)]
    subprocess.run(
        [*command, "--seed", str(seed), "--out", str(path)], check=True, cwd=PROJECT_ROOT, capture_output=True
    )
    return path


def repeat_csv(base: Path, target: Path, rows: int) -> Path:
    """Write `rows` recipients by repeating the records of `base` (a CSV whose first column is the
    recipient id), giving every repeated record a fresh unique id ``C-<n>``: a million-row file in
    seconds, where the generator would take minutes."""
    with base.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        tails = []
        for record in reader:  # re-serialised once, so quoted commas and newlines stay intact
            line = io.StringIO()
            csv.writer(line, lineterminator="\n").writerow(record[1:])
            tails.append(line.getvalue())
    with target.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + "\n")
        for number in range(rows):
            out.write(f"C-{number + 1:07d},{tails[number % len(tails)]}")
    return target


# ---- a real Redis and real Celery workers (the same way tests/fixture_redis.py and
# tests/jobs/test_celery.py start them), stopped at the end whatever happens -------------------------

REDIS_SERVER = Path("/usr/bin/redis-server")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def redis_server(workdir: Path, timeout_s: float = 10.0) -> Iterator[tuple[str, int]]:
    """Run redis-server on a free loopback port (nothing persisted); yield its URL and pid."""
    import redis

    port = free_port()
    command = [
        str(REDIS_SERVER),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    with (workdir / "redis-server.log").open("ab") as log:
        process = subprocess.Popen(
            [*command, "--dir", str(workdir)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + timeout_s
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not start; see {workdir / 'redis-server.log'}"
                    ) from None
                time.sleep(0.05)
        client.close()
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class CeleryWorkers:
    """``python -m renderer worker`` subprocesses sharing one TAILOR_* environment, each logging to
    its own file; `stop` shuts them down warm (SIGTERM) so their pool processes are reaped too."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, concurrency: int = 1, loglevel: str = "INFO") -> None:
        """Start one more worker."""
        path = self.log_dir / f"worker-{len(self.processes)}.log"
        command = [sys.executable, "-m", "renderer", "worker", "--concurrency", str(concurrency)]
        with path.open("wb") as log:
            process = subprocess.Popen(
                [*command, "--loglevel", loglevel],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        self.logs.append(path)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM every worker (a warm shutdown: the task in hand finishes and is logged, the pool
        processes are stopped by their worker), then SIGKILL the process group of any still there."""
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) one live process has used so far, from /proc (Linux); 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def descendants(pid: int) -> list[int]:
    """The live children of `pid`, their children, and so on."""
    found: list[int] = []
    todo = [pid]
    while todo:
        try:
            tasks = list(Path(f"/proc/{todo.pop()}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


# ---- a throwaway PostgreSQL cluster (found and run the way tests/fixture_db.py does) -----------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[4]))
    return found[-1].parent if found else None


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A private PostgreSQL cluster in a temp folder on a free loopback port, with its default
    durability (fsync on, unlike the tests' cluster); yields a URL to an empty database, or None
    when PostgreSQL is not installed; removed at the end. Under root it runs as ``nobody``
    (initdb refuses root)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        yield None
        return
    workdir = Path(tempfile.mkdtemp(prefix="tailor-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        account = pwd.getpwnam("nobody")
        os.chown(workdir, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    data, port = workdir / "data", free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, text=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir}"
    pg_ctl = str(bin_dir / "pg_ctl")
    run(pg_ctl, "-D", str(data), "-l", str(workdir / "server.log"), "-w", "-o", options, "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "tailor")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/tailor"
    finally:
        try:
            run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
