"""Load test of `sentiq serve` on loopback: throughput and latency with batching on and off.

Starts the service (one uvicorn worker) on 127.0.0.1 in a subprocess, once with dynamic
micro-batching and once without, and at each concurrency level (1, 8, 32 and 128 clients by
default) sends a bounded number of single-text requests as fast as the clients can. An answer
is a 200, a shed request (429 or 503 with Retry-After: counted apart, and the client waits
that long, as a well-behaved client does) or an error (any other status, a 5xx above all, or
a dropped connection): errors make the exit status 1. Latency percentiles are those of the
admitted (200) requests. Nothing leaves 127.0.0.1.
Each row also records the server process's resident memory after loading, now and at
its peak (VmRSS/VmHWM, Linux).

    python benchmarks/load_test.py --model /tmp/demo
    python benchmarks/load_test.py --model runs/tfidf --requests 400 --concurrency 1,8,32

Prints a table and writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from harness import load_average, utc_now, write_result

HOST = "127.0.0.1"  # loopback only, by design
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _texts(path: Path, limit: int) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [row["text"] for _, row in zip(range(limit), csv.DictReader(handle))]


def _start_server(args, batching: bool, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "SENTIQ_ACCESS_LOG": "false",
        "SENTIQ_MAX_WAIT_MS": str(args.max_wait_ms),
        "SENTIQ_MAX_BATCH_SIZE": str(args.max_batch_size),
        **({"SENTIQ_MAX_QUEUE_TEXTS": str(args.max_queue_texts)} if args.max_queue_texts else {}),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "sentiq.cli",
        "serve",
        str(args.model),
        "--host",
        HOST,
        "--port",
        str(port),
        "--batching" if batching else "--no-batching",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_ready(base: str, server: subprocess.Popen, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read()[-2000:]}")
        try:
            response = httpx.get(f"{base}/ready", timeout=5)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError("server did not become ready")


async def _level(base: str, texts: list[str], clients: int, requests: int, max_seconds: float) -> dict:
    """`clients` concurrent clients share `requests` single-text requests (or stop at max_seconds)."""
    latencies: list[float] = []
    errors: list[str] = []
    shed: list[int] = []
    next_index = 0
    deadline = time.monotonic() + max_seconds

    async def client(session: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < requests and time.monotonic() < deadline:
            text = texts[next_index % len(texts)]
            next_index += 1
            start = time.perf_counter()
            try:
                response = await session.post("/v1/predict", json={"texts": [text]})
                if response.status_code in (429, 503) and "retry-after" in response.headers:
                    shed.append(response.status_code)
                    await asyncio.sleep(min(float(response.headers["retry-after"]), 5.0))
                    continue
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
                    continue
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
                continue
            latencies.append((time.perf_counter() - start) * 1000)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        wall = time.perf_counter() - start
    ordered = sorted(latencies)

    def pct(q: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None

    return {
        "clients": clients,
        "requests": len(latencies) + len(errors) + len(shed),
        "ok": len(latencies),
        "shed_429": shed.count(429),
        "shed_503": shed.count(503),
        "errors": len(errors),
        "errors_5xx": sum(e[:1] == "5" for e in errors),
        "error_samples": errors[:5],
        "seconds": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 2) if wall else None,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }


def _server_memory(server: subprocess.Popen) -> dict:
    """The server process's resident memory now and at its peak (VmRSS, VmHWM) in MB; Linux only.
    With one worker uvicorn serves in this very process, so this is the serving figure."""
    try:
        status = Path(f"/proc/{server.pid}/status").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        key: int(fields[name].split()[0]) // 1024
        for key, name in (("server_rss_mb", "VmRSS"), ("server_peak_rss_mb", "VmHWM"))
        if name in fields
    }


def _batch_stats(base: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    values = {}
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text):
        for sample in family.samples:
            if sample.name in ("sentiq_batch_texts_count", "sentiq_batch_texts_sum"):
                values[sample.name] = sample.value
    return values


def run_mode(args, batching: bool, texts: list[str]) -> list[dict]:
    port = _free_port()
    base = f"http://{HOST}:{port}"
    server = _start_server(args, batching, port)
    try:
        model = _wait_ready(base, server)["model"]
        loaded = _server_memory(server)
        asyncio.run(_level(base, texts, 4, args.warmup, args.max_seconds))  # load lazies, warm caches
        rows = []
        for clients in args.concurrency:
            before = _batch_stats(base)
            row = asyncio.run(_level(base, texts, clients, args.requests, args.max_seconds))
            after = _batch_stats(base)
            calls = after["sentiq_batch_texts_count"] - before.get("sentiq_batch_texts_count", 0)
            row["mean_batch_texts"] = (
                round((after["sentiq_batch_texts_sum"] - before.get("sentiq_batch_texts_sum", 0)) / calls, 2)
                if calls
                else None
            )
            row.update(
                batching=batching,
                model=model,
                **_server_memory(server),
                **{f"loaded_{key}": value for key, value in loaded.items()},
            )
            rows.append(row)
            print(_format(row), flush=True)
        return rows
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _format(row: dict) -> str:
    return (
        f"batching={'on ' if row['batching'] else 'off'} clients={row['clients']:>3} "
        f"ok={row['ok']:>4} shed={row['shed_429']}+{row['shed_503']} errors={row['errors']} "
        f"{row['throughput_rps']:>7.2f} req/s "
        f"p50={row['p50_ms']} p95={row['p95_ms']} p99={row['p99_ms']} ms batch={row['mean_batch_texts']} "
        f"server RSS/peak={row.get('server_rss_mb')}/{row.get('server_peak_rss_mb')} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("/tmp/demo"), help="Model directory to serve.")
    parser.add_argument(
        "--texts",
        type=Path,
        default=ROOT / "data" / "imdb_sample" / "test.csv",
        help="CSV with a text column; requests cycle through it.",
    )
    parser.add_argument("--concurrency", default="1,8,32,128", help="Comma-separated client counts.")
    parser.add_argument("--requests", type=int, default=200, help="Requests per concurrency level (bounded).")
    parser.add_argument("--max-seconds", type=float, default=120, help="Time bound per level.")
    parser.add_argument("--warmup", type=int, default=16, help="Requests sent before measuring.")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="SENTIQ_MAX_WAIT_MS of the batching run.")
    parser.add_argument("--max-batch-size", type=int, default=32, help="SENTIQ_MAX_BATCH_SIZE of the batching run.")
    parser.add_argument(
        "--max-queue-texts",
        type=int,
        default=None,
        help="SENTIQ_MAX_QUEUE_TEXTS of the server (default: the service's own default).",
    )
    parser.add_argument("--modes", default="on,off", help="Batching modes to run: on, off or on,off.")
    parser.add_argument("--tag", default="", help="Suffix of the result file name.")
    parser.add_argument("--out", type=Path, default=None, help="Result file (default: benchmarks/results/...).")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    texts = _texts(args.texts, 500)

    started = utc_now()
    load_before = load_average()
    rows = []
    for mode in args.modes.split(","):
        rows += run_mode(args, mode.strip() == "on", texts)
    result = {
        "model_dir": str(args.model),
        "texts": str(args.texts),
        "requests_per_level": args.requests,
        "max_wait_ms": args.max_wait_ms,
        "max_batch_size": args.max_batch_size,
        "max_queue_texts": args.max_queue_texts,
        "started": started,
        "loadavg_before": load_before,
        "loadavg_after": load_average(),
        "rows": rows,
    }
    out = write_result(f"load_test-{args.model.name}{'-' + args.tag if args.tag else ''}", result, path=args.out)
    print(f"wrote {out}")
    if any(row["errors"] for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
