"""Engagement event ingest: sustained ``POST /events`` throughput and latency, and a one-token flood
answered 429 while recipient pages and renders stay fast, against a real API process.

Each backend (SQLite; PostgreSQL too when its binaries are installed, as tests/fixture_db.py finds
them) gets a fresh job store and storage, page links made beforehand and one ``tailor serve``
process (one uvicorn worker, ``TAILOR_WORKERS=1`` render process, logs on as in production). Per
run, each phase a on ``--tokens`` tokens the server has not seen yet (so ~4 batches per token at
5,000 events/s for 8 s: a page view sends a few batches, and the server's link cache starts cold):

a. sustained: ``--connections`` keep-alive connections each send batches of 20 events as fast as
   they are answered, token after token (each batch from its own client address, in
   ``X-Forwarded-For``, which uvicorn trusts from 127.0.0.1 as from a proxy: many pages, not one
   flooding address): events/s, p50/p99 per batch, events per server CPU-second; then the same
   paced at ``--rate`` events/s on 32 connections, latency counted from when each batch was due.
   Every answer must be ``202``.
b. flood: one token sends ``--flood-rate`` events/s (batches of 20, paced, from a child process)
   while this process fetches a recipient page (``/r/{token}/.../index.html``) every 50 ms and
   asks for a microsite render (``POST /templates/bill-summary/renders``) every 250 ms: the
   flood's share answered 429 and the pages' and renders' p50/p99.

The load generator writes pre-built HTTP/1.1 requests on raw sockets, so its own CPU stays small
beside the server's. Prints the median of ``--repeat`` runs per backend.

    .venv/bin/python -m bench.events --seconds 8 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import free_port, postgres_server, process_cpu_s
from renderer.api.keys import create_key
from renderer.jobs.store import open_store
from renderer.settings import PROJECT_ROOT, load_settings

BATCH = 20


def _batch_body(token: str, serial: int) -> bytes:
    now = int(time.time() * 1000)
    events = ",".join(
        f'{{"id":"ev-{serial:09d}-{i:02d}","kind":"video_progress","view":"view-{serial:09d}",'
        f'"at":{now},"scene":"amount","position":{i}.5,"target":null,"value":{25 * (1 + i % 4)}}}'
        for i in range(BATCH)
    )
    return f'{{"token":"{token}","events":[{events}]}}'.encode()


def _post(body: bytes, address: str) -> bytes:
    head = (
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Forwarded-For: {address}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a keep-alive connection; its status (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return int(head[9:12])


def _address(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


async def _sustain(
    port: int, tokens: list[str], seconds: float, connections: int, first: int, rate: float | None = None
) -> dict[str, Any]:
    """Batches from `tokens` in turn on `connections` connections for `seconds`: each as soon as
    the last is answered (`rate` None), or `rate` events/s on a fixed schedule, a batch's latency
    then counted from when it was due (a slow answer delays the batches behind it, and they
    count that). Event ids are numbered from `first`, so every run sends new events."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    deadline = start + seconds

    async def lane(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = index
        while (due := start + n * BATCH / rate if rate else time.perf_counter()) < deadline:
            if (pause := due - time.perf_counter()) > 0:
                await asyncio.sleep(pause)
            serial = first + n
            request = _post(_batch_body(tokens[serial % len(tokens)], serial), _address(serial))
            status = await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1
            n += connections
        writer.close()

    await asyncio.gather(*(lane(i) for i in range(connections)))
    elapsed = time.perf_counter() - start
    accepted = statuses.get(202, 0) * BATCH
    return {"events_s": accepted / elapsed, "statuses": statuses, "latencies": latencies, "elapsed": elapsed}


def _flood(port: int, token: str, seconds: float, rate: float, out: Any) -> None:
    """A child process: `rate` events/s from one token and one address, paced, for `seconds`."""

    async def run() -> dict[int, int]:
        statuses: dict[int, int] = {}
        per_s = rate / BATCH
        lanes = 16
        start = time.perf_counter()

        async def lane(index: int) -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            n = index
            while (at := start + n / per_s) < start + seconds:
                if (pause := at - time.perf_counter()) > 0:
                    await asyncio.sleep(pause)
                status = await _exchange(reader, writer, _post(_batch_body(token, 10**8 + n), "192.0.2.1"))
                statuses[status] = statuses.get(status, 0) + 1
                n += lanes
            writer.close()

        await asyncio.gather(*(lane(i) for i in range(lanes)))
        return statuses

    started = time.perf_counter()
    statuses = asyncio.run(run())
    out.put({"statuses": statuses, "elapsed": time.perf_counter() - started})


def _probe(port: int, page: str, render: bytes, key: str, seconds: float) -> dict[str, list[float]]:
    """Page GETs every 50 ms and microsite renders every 250 ms; their latencies (200s only)."""
    found: dict[str, list[float]] = {"page": [], "render": []}
    pages, renders = (
        http.client.HTTPConnection("127.0.0.1", port),
        http.client.HTTPConnection("127.0.0.1", port),
    )
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    deadline, tick = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        tick += 1
        started = time.perf_counter()
        pages.request("GET", page)
        answer = pages.getresponse()
        answer.read()
        if answer.status == 200:
            found["page"].append(time.perf_counter() - started)
        if tick % 5 == 0:
            started = time.perf_counter()
            renders.request("POST", "/templates/bill-summary/renders", body=render, headers=headers)
            answer = renders.getresponse()
            answer.read()
            if answer.status == 200:
                found["render"].append(time.perf_counter() - started)
        time.sleep(max(0.0, 0.05 - (time.perf_counter() - started)))
    return found


def _ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Server:
    """A running ``tailor serve`` and what the runs need from it."""

    port: int
    pid: int
    key: str
    tokens: list[str]
    flood_token: str
    page: str
    render: bytes


@contextmanager
def api_server(root: Path, database_url: str, tokens: int) -> Iterator[Server]:
    """``python -m renderer serve`` on a fresh store and storage, with `tokens` page links (made
    beforehand, straight into the store)."""
    port = free_port()
    env = {
        **os.environ,
        "TAILOR_DATABASE_URL": database_url,
        "TAILOR_STORAGE_URL": str(root / "out"),
        "TAILOR_WORKERS": "1",
        "TAILOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    settings = load_settings(database_url=database_url, storage_url=str(root / "out"))
    store = open_store(database_url)
    links = [store.links.create("bill-summary", "bench", f"C-{n:06d}", ttl_s=86_400) for n in range(tokens)]
    flood = store.links.create("bill-summary", "bench", "C-FLOOD", ttl_s=86_400)
    store.close()
    key = create_key(settings, "bench")
    command = [sys.executable, "-m", "renderer", "serve", "--port", str(port)]
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, process)
        yield Server(port, process.pid, key, links, flood, *_page_and_render(port, key))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the API process exited; see server.log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the API did not start")


def _page_and_render(port: int, key: str) -> tuple[str, bytes]:
    """A rendered recipient page's path (under its token) and a microsite render request body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request("GET", "/templates/bill-summary?sample=en-US", headers=headers)
    sample = json.loads(connection.getresponse().read())["sample"]
    body = json.dumps({"recipient": sample, "outputs": ["microsite"]}).encode()
    connection.request("POST", "/templates/bill-summary/renders", body=body, headers=headers)
    made = json.loads(connection.getresponse().read())
    path = made["page_url"].split(f":{port}", 1)[1]
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    return answer.getheader("location") or path, body


def one_run(server: Server, args: argparse.Namespace, run: int) -> dict[str, float]:
    """Phase a (as fast as answered, then paced at `--rate`) then phase b on a running server."""
    cpu = process_cpu_s(server.pid)
    pool = args.tokens  # fresh tokens per phase: the server has not seen (nor cached) them yet
    fresh = server.tokens[2 * run * pool : (2 * run + 1) * pool], server.tokens[(2 * run + 1) * pool :][:pool]
    most = asyncio.run(_sustain(server.port, fresh[0], args.seconds, args.connections, run * 10**7))
    cpu = process_cpu_s(server.pid) - cpu
    paced = asyncio.run(
        _sustain(server.port, fresh[1], args.seconds, 32, run * 10**7 + 5 * 10**6, rate=args.rate)
    )
    for sustained in (most, paced):
        refused = sum(n for status, n in sustained["statuses"].items() if status != 202)
        assert refused == 0, f"sustained run: answers other than 202: {sustained['statuses']}"
    queue: Any = multiprocessing.get_context("spawn").Queue()
    flood = multiprocessing.get_context("spawn").Process(
        target=_flood, args=(server.port, server.flood_token, args.seconds, args.flood_rate, queue)
    )
    flood.start()
    probes = _probe(server.port, server.page, server.render, server.key, args.seconds)
    flooded = queue.get(timeout=args.seconds + 60)
    flood.join()
    sent = sum(flooded["statuses"].values())
    return {
        "events_s": most["events_s"],
        "batch_p50_ms": _ms(most["latencies"], 0.5),
        "batch_p99_ms": _ms(most["latencies"], 0.99),
        "server_cpu_events": most["events_s"] * most["elapsed"] / max(cpu, 1e-9),
        "server_cores": cpu / most["elapsed"],
        "paced_events_s": paced["events_s"],
        "paced_p50_ms": _ms(paced["latencies"], 0.5),
        "paced_p99_ms": _ms(paced["latencies"], 0.99),
        "flood_events_s": sent * BATCH / flooded["elapsed"],
        "flood_429": flooded["statuses"].get(429, 0) / max(sent, 1),
        "page_p50_ms": _ms(probes["page"], 0.5),
        "page_p99_ms": _ms(probes["page"], 0.99),
        "render_p50_ms": _ms(probes["render"], 0.5),
        "render_p99_ms": _ms(probes["render"], 0.99),
    }


ROWS = [
    ("events_s", "a. events/s, batches of 20, flat out", "{:.0f}", ">= 5000"),
    ("batch_p50_ms", "   batch latency p50 ms", "{:.1f}", ""),
    ("batch_p99_ms", "   batch latency p99 ms", "{:.1f}", ""),
    ("server_cpu_events", "   events per server CPU-second", "{:.0f}", ""),
    ("server_cores", "   CPU cores the server got", "{:.2f}", ""),
    ("paced_events_s", "a. paced at --rate: events/s stored", "{:.0f}", ""),
    ("paced_p50_ms", "   batch latency p50 ms (from due)", "{:.1f}", ""),
    ("paced_p99_ms", "   batch latency p99 ms (from due)", "{:.1f}", "< 50"),
    ("flood_events_s", "b. flood events/s sent (one token)", "{:.0f}", "20000"),
    ("flood_429", "   share answered 429", "{:.4f}", "~1"),
    ("page_p50_ms", "   page GET p50 ms", "{:.1f}", ""),
    ("page_p99_ms", "   page GET p99 ms", "{:.1f}", "< 100"),
    ("render_p50_ms", "   microsite render p50 ms", "{:.1f}", ""),
    ("render_p99_ms", "   microsite render p99 ms", "{:.1f}", "< 100"),
]


def main() -> None:
    """Run every backend, print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--tokens", type=int, default=500, help="page tokens per phase (a page view sends a few batches)"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=5000.0, help="events/s of the paced run")
    parser.add_argument("--flood-rate", type=float, default=20_000.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tailor-bench-events-"))
    results: dict[str, dict[str, float]] = {}
    try:
        for backend in args.backends.split(","):
            with _database(backend, scratch) as url:
                if url is None:
                    print(f"{backend}: not available, skipped")
                    continue
                with api_server(scratch / backend, url, 2 * args.repeat * args.tokens) as server:
                    runs = [one_run(server, args, run) for run in range(args.repeat)]
                results[backend] = {name: statistics.median(run[name] for run in runs) for name, *_ in ROWS}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _print(results, args)


@contextmanager
def _database(backend: str, scratch: Path) -> Iterator[str | None]:
    (scratch / backend).mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        yield f"sqlite:///{scratch / backend / 'jobs.db'}"
        return
    with postgres_server() as url:
        yield url


def _print(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    backends = list(results)
    print(
        f"POST /events, one API process, {args.tokens} fresh tokens per phase, "
        f"{args.connections} connections, "
        f"{args.seconds:.0f} s phases, median of {args.repeat} runs, {os.cpu_count()} CPUs"
    )
    print(f"{'':40}" + "".join(f"{name:>12}" for name in backends) + f"{'goal':>10}")
    for name, label, form, goal in ROWS:
        print(
            f"{label:40}" + "".join(f"{form.format(results[b][name]):>12}" for b in backends) + f"{goal:>10}"
        )


if __name__ == "__main__":
    main()
