"""Load generation for benchmarks/serving.py: wrk with a Lua script, or an asyncio client.

wrk (``apt-get install -y wrk``, installed by the benchmark when it runs as root and wrk is
missing) keeps N keep-alive connections busy with one POST body and reports the latency
distribution from its own ``done`` hook as JSON. Without wrk, the same measurement runs in a
separate Python process: N asyncio connections over raw sockets, HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# No response() hook: with one, wrk hands every response to Lua, which on 2 cores made
# the client, not the server, the bottleneck (2,647 against ~4,000 req/s measured without).
# Non-2xx/3xx answers are still counted, in summary.errors.status.
_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("%(body)s", "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %%d, "duration_s": %%.6f, "p50_ms": %%.4f, "p90_ms": %%.4f, ' ..
    '"p99_ms": %%.4f, "mean_ms": %%.4f, "errors": %%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.mean / 1e3,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def ensure_wrk() -> str | None:
    """The path of wrk, installing it with apt-get when root and missing; None without it."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("installing wrk (apt-get install -y wrk) ...", flush=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "wrk"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=300,
    )
    return shutil.which("wrk")


def measure(
    url: str, body: bytes, *, connections: int, seconds: float, client: str
) -> dict[str, float]:
    """Drive ``url`` with ``body`` for ``seconds``; req/s, latency percentiles, errors."""
    with tempfile.TemporaryDirectory(prefix="loopml-bench-load-") as tmp:
        body_path = Path(tmp) / "body.json"
        body_path.write_bytes(body)
        if client == "wrk":
            script = Path(tmp) / "post.lua"
            script.write_text(_LUA % {"body": body_path})
            out = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{connections}",
                    f"-d{max(seconds, 1.0):.0f}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(script),
                    url,
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 60,
            ).stdout
        else:
            out = subprocess.run(
                [sys.executable, __file__, url, str(body_path), str(connections), str(seconds)],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 60,
            ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, float] = json.loads(line[len("RESULT ") :])
    result["rps"] = result["requests"] / result["duration_s"]
    return result


# -- the fallback client (runs as its own process) ---------------------------------------


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(1)
    finally:
        writer.close()


async def _drive(url: str, body: bytes, connections: int, seconds: float) -> dict[str, Any]:
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    request = (
        f"POST /{path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(
            _connection(host, int(port), request, until, latencies, errors)
            for _ in range(connections)
        )
    )
    duration = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0
        )

    return {
        "requests": len(latencies),
        "duration_s": duration,
        "p50_ms": pct(0.5),
        "p90_ms": pct(0.9),
        "p99_ms": pct(0.99),
        "mean_ms": sum(latencies) / max(len(latencies), 1) * 1000,
        "errors": len(errors),
    }


if __name__ == "__main__":
    _url, _body, _conns, _secs = sys.argv[1:5]
    _out = asyncio.run(_drive(_url, Path(_body).read_bytes(), int(_conns), float(_secs)))
    print("RESULT " + json.dumps(_out))
