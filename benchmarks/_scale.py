"""Shared by the scale benchmarks: the synthetic 1.6M-row corpus as Parquet subsets, and the
wall time and peak RSS of a command run as a child process.

The corpus comes from ``scripts/make_big_corpus.py`` (perturbed copies of the Sentiment140
sample's training part; not real data). Subsets are random (seeded), so every size holds
both labels; the test file is the sample's own held-out 20%, never perturbed into the corpus.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

COLUMNS = ["polarity", "id", "date", "query", "user", "text"]
LABELS = {"0": "negative", "4": "positive"}


def read_sentiment140(path: Path) -> pa.Table:
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=COLUMNS, encoding="latin-1"),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS}),
    )
    labels = pa.array([LABELS[p] for p in table.column("polarity").to_pylist()])
    return pa.table({"id": table.column("id"), "text": table.column("text"), "label": labels})


def subsets(corpus_dir: Path, sizes: list[int], seed: int = 0) -> dict[int, Path]:
    """``{n: corpus_dir/subset-n.parquet}``, made once (a random n-row subset of the 1.6M rows) and the test file."""
    out = {n: corpus_dir / f"subset-{n}.parquet" for n in sizes}
    test = corpus_dir / "test.parquet"
    if not test.is_file():
        pq.write_table(read_sentiment140(corpus_dir / "test.csv"), test)
    if all(p.is_file() for p in out.values()):
        return out
    full = read_sentiment140(next(corpus_dir.glob("training.1600000.csv")))
    order = np.random.default_rng(seed).permutation(full.num_rows)
    for n, path in out.items():
        if not path.is_file():
            pq.write_table(full.take(pa.array(np.sort(order[:n]))), path, row_group_size=50_000)
    return out


def _sample_rss(pid: int, peaks: dict[str, int], every: float = 0.2) -> None:
    """Largest RssAnon / RssFile (KiB) of ``pid`` seen until it exits (Linux /proc; nothing elsewhere)."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if line.startswith("Rss"))
        except (OSError, ValueError):
            return
        if not fields:  # a zombie waiting to be reaped
            return
        for key in ("RssAnon", "RssFile"):
            if key in fields:
                peaks[key] = max(peaks.get(key, 0), int(fields[key].split()[0]))
        time.sleep(every)


def measure(cmd: list[str], *, env: dict | None = None, log: Path | None = None) -> dict:
    """Wall seconds and peak RSS (MiB) of ``cmd``: the largest of its process and the children it waited
    for (tokenising workers; Ray workers, which the Ray daemon reaps, are not counted); stdout and stderr
    go to ``log``."""
    log = log or Path(os.devnull)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    peaks: dict[str, int] = {}
    with open(log, "w") as handle:
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=handle, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=_sample_rss, args=(proc.pid, peaks), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        sampler.join()
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = Path(log).read_text()[-3000:] if log != Path(os.devnull) else ""
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({code}):\n{tail}")
    # The machine may be shared: the 1-minute load average before and after says how quiet it was.
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        # the main process only, sampled every 0.2 s: anonymous memory (heap: Python objects, arrays) apart from
        # file-backed pages (memory-mapped Arrow files, libraries), which the kernel can drop and re-read
        **{f"peak_{key.lower()}_mib": round(kib / 1024) for key, kib in peaks.items()},
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
