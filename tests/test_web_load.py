"""The daemon's HTTP server under load and abuse, on loopback, against a real `tracker run`:
1,000 idle connections and 500 concurrent clients never keep a /healthz probe waiting a
second, and idle connections are closed once their timeout has passed."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest

from tests.counting_receiver import tracker_command, tracker_env
from tests.polling import wait_for

pytestmark = pytest.mark.slow
IDLE_TIMEOUT = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def daemon_port(sqlite_url, tmp_path):  # type: ignore[no-untyped-def]
    port = _free_port()
    env = tracker_env(sqlite_url, TRACKER_HTTP_PORT=str(port), TRACKER_HTTP_IDLE_TIMEOUT_SECONDS=str(IDLE_TIMEOUT),
                      TRACKER_EVALUATE__INTERVAL_SECONDS="3600")
    with open(tmp_path / "daemon.log", "wb") as log:
        process = subprocess.Popen(tracker_command("run"), env=env, stdout=subprocess.DEVNULL, stderr=log)

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return process.poll() is not None

        wait_for(healthy, "the daemon's /healthz", deadline=60)
        assert process.poll() is None, (tmp_path / "daemon.log").read_text()
        yield port
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0


async def _get(port: int, path: str) -> tuple[int, float]:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return int(answer.split(b" ", 2)[1]), time.monotonic() - started


async def _closed_at(reader: asyncio.StreamReader, opened: float) -> float:
    """When the server closed this connection, seconds after it was opened."""
    try:
        await reader.read()
    except ConnectionError:
        pass
    return time.monotonic() - opened


PROBER = """
import http.client, json, os, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
seconds = []
while not os.path.exists(stop):
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    connection.close()
    seconds.append(time.monotonic() - started)
    time.sleep(0.05)
print(json.dumps(seconds))
"""


async def _scenario(port: int, stop_file) -> tuple[list[int], list[float]]:  # type: ignore[no-untyped-def]
    opened = time.monotonic()
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(1000)]
    watchers = [asyncio.create_task(_closed_at(reader, opened)) for reader, _ in idle]
    paths = ["/", "/healthz", "/metrics", "/api/status", "/readyz"]
    answers = await asyncio.gather(*(asyncio.wait_for(_get(port, paths[n % len(paths)]), 120) for n in range(500)))
    await asyncio.sleep(0.5)  # a few probes more, after the burst
    stop_file.write_text("")
    closed = await asyncio.wait_for(asyncio.gather(*watchers), IDLE_TIMEOUT + 30)
    for _, writer in idle:
        writer.close()
    return [status for status, _ in answers], closed


def test_healthz_answers_within_a_second_beside_1000_idle_connections_and_500_clients(daemon_port, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The prober is a process of its own, so its timings are the server's, not this loop's.
    stop = tmp_path / "stop"
    prober = subprocess.Popen([sys.executable, "-c", PROBER, str(daemon_port), str(stop)], stdout=subprocess.PIPE)
    try:
        statuses, closed = asyncio.run(_scenario(daemon_port, stop))
        out, _ = prober.communicate(timeout=60)
    finally:
        stop.write_text("")
        if prober.poll() is None:
            prober.kill()
    probes = json.loads(out)
    print(f"\nprobes: {len(probes)}, slowest {max(probes) * 1000:.0f} ms; idle connections closed after "
          f"{min(closed):.1f}-{max(closed):.1f} s; answers {sorted(Counter(statuses).items())}; "
          f"{[round(p, 2) for p in probes]}")
    assert len(probes) >= 5 and max(probes) < 1.0
    assert set(statuses) <= {200, 503}  # every client answered; pages beyond the few at once are 503
    assert IDLE_TIMEOUT - 0.5 <= min(closed) and max(closed) <= IDLE_TIMEOUT + 5
