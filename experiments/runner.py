"""The experiments runner: declarative experiments, resumable runs, raw CSV, tables and figures.

An `Experiment` is a name, a description, per-preset configs (plain dicts), a function listing the
items a config implies, a function that runs one item and returns its metrics, and a function that
turns the raw rows into tables and figures.  `run` writes ``OUT/raw.csv`` (one row per finished
item, appended as each finishes), ``OUT/failures.csv`` (an item that raised is recorded there and
the run goes on), ``OUT/run.json`` (command, git commit, versions, machine, times) and then calls
`plot`, which only reads ``raw.csv``: ``python -m experiments plot NAME`` regenerates every table
and figure without re-running anything.  Running again resumes: items already in ``raw.csv`` are
skipped.  ``run.json`` also records the committed inputs the run read (``inputs``: reference models,
other pages' rows; `experiments.provenance`), so ``python -m experiments stale`` can say which pages a
changed model leaves out of date.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from experiments import provenance

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ("quick", "cpu", "gpu")


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    presets: dict[str, dict[str, Any]]
    items: Callable[[dict], list[dict]]  # config -> items (each a dict with a unique "id")
    run_item: Callable[[dict, dict, dict], dict]  # (item, config, shared cache) -> metrics
    plot: Callable[[list[dict], Path], list[Path]]  # raw rows, out dir -> files written
    # config -> the committed inputs it reads: repository paths of model files, or of other pages' folders
    # (their raw.csv stands for them); run.json records their git blob ids (experiments.provenance)
    reads: Callable[[dict], list[str]] = lambda cfg: []
    # (item, config) -> the inputs that item's row depends on, where it is fewer than ``reads``: model files, or
    # some of another page's rows (`provenance.rows_of`).  A re-run after an input changed keeps the rows of
    # items that do not read it (`experiments.rerun`); None: every item reads every input
    item_reads: Callable[[dict, dict], list[str]] | None = None
    # (item, config, out dir) -> files the item writes that other items or pages read (a fine-tuned model): a
    # re-run keeps the item's row only while they are there (git ignores some, so a fresh checkout lacks them)
    item_outputs: Callable[[dict, dict, Path], list[Path]] | None = None


REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    REGISTRY[exp.name] = exp
    return exp


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        # an empty cell is a column this row never had (rows of one run may differ): leave it out
        rows = [{k: v for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = float(v) if any(c in v for c in ".e") or v.lstrip("-").isdigit() else v
            except (TypeError, ValueError):
                pass
    return rows


def _append_row(path: Path, row: dict) -> None:
    """Append one row; a row with new columns rewrites the file with the union of the columns."""
    fields = list(row)
    if path.exists():
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if all(k in header for k in row):
            with open(path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=header, extrasaction="ignore").writerow(row)
                f.flush()
                os.fsync(f.fileno())
            return
        with open(path, newline="") as f:
            old_rows = list(csv.DictReader(f))
        fields = header + [k for k in row if k not in header]
    else:
        old_rows = []
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(old_rows + [row])
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the process's peak resident set size (VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float | str:
    """Peak resident memory of this process since the last reset, MB ("" where /proc is missing).

    Per item when the reset works; it includes what earlier items left resident (VGG weights,
    compiled programs), so it is an upper bound on the item's own footprint.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return ""


def machine_info() -> dict:
    import jax

    cpu = platform.processor()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    import flax
    import numpy
    import optax

    from nst import __version__

    return {"git_commit": commit, "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "jax": jax.__version__, "flax": flax.__version__,
            "optax": optax.__version__, "numpy": numpy.__version__, "nst": __version__,
            "backend": jax.default_backend(), "devices": [d.device_kind for d in jax.devices()]}


def run(name: str, preset: str, out: Path | None = None, verbose: bool = True) -> Path:
    exp = REGISTRY[name]
    cfg = exp.presets[preset]
    out = out or ROOT / "results" / name
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SystemExit(f"--out {out}: cannot create it ({e.strerror or e})")
    from nst.errors import NSTError
    from nst.io.files import check_writable_folder

    try:
        check_writable_folder(out, f"--out {out}")  # before any item runs
    except NSTError as e:
        raise SystemExit(str(e))
    raw, failures = out / "raw.csv", out / "failures.csv"
    done = {str(r["id"]) for r in read_rows(raw)}
    start = time.strftime("%Y-%m-%d %H:%M:%S")
    declared = list(exp.reads(cfg))
    inputs = provenance.input_blobs(declared, ROOT)
    provenance.keep_blobs(inputs, ROOT)  # so that a later comparison can read the rows this run read
    earlier = _earlier_inputs(out / "run.json", declared, inputs) if done else {}
    cache: dict = {"out": out}
    strict = os.environ.get("NST_STRICT_INPUTS") == "1"
    with provenance.InputWatch(out, ROOT) as watch:  # items() may read models too (their styles)
        _run_items(exp, exp.items(cfg), cfg, cache, done, raw, failures, verbose, watch, fresh_cache=strict)
    unlisted = provenance.undeclared(watch.opened, declared)
    beyond = _beyond_item_reads(exp, cfg, watch.by_item)
    info = {"experiment": name, "preset": preset, "config": cfg, "command": _command(name, preset, out), "start": start,
            "end": time.strftime("%Y-%m-%d %H:%M:%S"), "inputs": inputs,
            **({"earlier_inputs": earlier} if earlier else {}),
            **({"undeclared_inputs": unlisted} if unlisted else {}),
            **({"undeclared_item_inputs": beyond} if beyond else {}), **machine_info()}
    (out / "run.json").write_text(json.dumps(info, indent=2, default=str))
    msgs = ([f"{name}: the run read committed files its `reads` does not declare: {', '.join(unlisted)}"]
            if unlisted else [])
    msgs += [f"{name}: item {i} read {', '.join(files)}, which its `item_reads` does not declare"
             for i, files in beyond.items()]
    if msgs and strict:
        raise RuntimeError("; ".join(msgs))
    for msg in msgs:
        print("warning: " + msg, file=sys.stderr, flush=True)
    written = exp.plot(read_rows(raw), out)
    if verbose:
        for p in written:
            print(f"wrote {p}")
    return out


def _command(name: str, preset: str, out: Path) -> str:
    """The command that makes this page again (whether it ran from the CLI, a re-run cascade or Python)."""
    command = f"python -m experiments run {name} --preset {preset}"
    if out.resolve() != (ROOT / "results" / name).resolve():
        try:
            command += f" --out {out.resolve().relative_to(ROOT.resolve()).as_posix()}"
        except ValueError:
            command += f" --out {out.name}"
    return command


def _earlier_inputs(run_json: Path, declared: list[str], inputs: dict[str, str]) -> dict[str, str]:
    """A resumed run's earlier items read the inputs the earlier run.json recorded (or, from before that record,
    the inputs at its git commit; in a re-run, those its marker recorded): those that differ now, so the page
    says it mixes them."""
    marker = run_json.parent / provenance.RERUN_MARKER  # a re-run's earlier items ran on the inputs it started on
    if marker.is_file():
        run_json = marker
    if not run_json.is_file():
        return {}
    info = json.loads(run_json.read_text())
    try:
        where = run_json.resolve().relative_to(ROOT.resolve()).as_posix()
    except ValueError:  # a run outside the checkout: no history of its run.json
        where = ""
    old, _ = provenance.recorded_inputs(info, where, declared, ROOT)
    return {p: b for p, b in old.items() if b is not None and inputs.get(p) != b}


def _beyond_item_reads(exp: Experiment, cfg: dict, by_item: dict[str, set[str]]) -> dict[str, list[str]]:
    """``{item id: files}`` an item opened under ``results/`` that its ``item_reads`` does not cover."""
    if exp.item_reads is None:
        return {}
    items = {str(i["id"]): i for i in exp.items(cfg)}
    out = {}
    for item_id, opened in by_item.items():
        if item_id in items and (extra := provenance.undeclared(
                opened, provenance.item_covers(exp.item_reads(items[item_id], cfg)))):
            out[item_id] = extra
    return out


def _run_items(exp: Experiment, items: list[dict], cfg: dict, cache: dict, done: set[str], raw: Path,
               failures: Path, verbose: bool, watch: provenance.InputWatch | None = None,
               fresh_cache: bool = False) -> None:
    """Run the items not ``done``, appending a row each.  The ``watch`` records what each item opens; with
    ``fresh_cache`` (strict runs of pages that declare ``item_reads``) each item starts from an empty cache, so
    that an item using a model an earlier one loaded has to open it itself and the check sees it."""
    fresh_cache = fresh_cache and exp.item_reads is not None
    for k, item in enumerate(items, 1):
        if str(item["id"]) in done:
            if verbose:
                print(f"[{k}/{len(items)}] {item['id']}: done earlier, skipped", flush=True)
            continue
        t0 = time.perf_counter()
        _reset_peak_rss()
        if watch is not None:
            watch.item = str(item["id"])
        try:
            metrics = exp.run_item(item, cfg, {"out": cache["out"]} if fresh_cache else cache)
        except Exception as e:  # noqa: BLE001 - one broken item must not end the run
            _append_row(failures, {"id": item["id"], "error": f"{type(e).__name__}: {e}",
                                   "traceback": traceback.format_exc()[-2000:]})
            if verbose:
                print(f"[{k}/{len(items)}] {item['id']}: FAILED ({type(e).__name__}: {e})", flush=True)
            continue
        row = {**{k2: v for k2, v in item.items() if not isinstance(v, (list, dict))}, **metrics,
               "item_seconds": round(time.perf_counter() - t0, 3), "peak_rss_mb": _peak_rss_mb()}
        _append_row(raw, row)
        if verbose:
            print(f"[{k}/{len(items)}] {item['id']}: {time.perf_counter() - t0:.1f} s", flush=True)
    if watch is not None:
        watch.item = None


def subplots(*args: Any, **kwargs: Any):
    """``matplotlib.pyplot.subplots`` on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig: Any, path: Path, rect: tuple[float, float, float, float] | None = None) -> Path:
    """Lay ``fig`` out (within ``rect``, figure fractions, where a figure-wide legend keeps a margin) and save it."""
    import matplotlib.pyplot as plt

    fig.tight_layout(**({"rect": rect} if rect else {}))
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def run_config(out: Path) -> dict:
    """The configuration a committed run used (``out/run.json``), for plots that label what they show."""
    path = Path(out) / "run.json"
    return json.loads(path.read_text()).get("config", {}) if path.exists() else {}


def run_config_commit(out: Path) -> str:
    """The short git commit a committed run was made at (``out/run.json``), for plots that name their inputs."""
    path = Path(out) / "run.json"
    return (json.loads(path.read_text()).get("git_commit", "") if path.exists() else "")[:7] or "unknown"


def painting(stem: str) -> Any:
    """The painting ``data/styles/STEM.jpg`` at 256 px, for the thumbnails over a figure's columns."""
    from nst.io.images import load_image

    return load_image(ROOT / "data" / "styles" / f"{stem}.jpg", max_size=256)


RESULT_PREFIX = "RESULT "  # a benchmark child's one line of JSON on stdout


def benchmark_parser(doc: str, name: str, child_nargs: int | str) -> Any:
    """The arguments every benchmark shares: ``--out`` (default ``results/NAME``), the hidden
    ``--child`` (one configuration, run by `run_child`) and ``--summarize DIR`` (re-render only)."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / name)
    ap.add_argument("--child", nargs=child_nargs, help=argparse.SUPPRESS)
    ap.add_argument("--summarize", type=Path, help="only re-render DIR/summary.md from DIR/results.json")
    return ap


def child_result(value: Any) -> None:
    """Print a benchmark child's result for `run_child` to read."""
    print(RESULT_PREFIX + json.dumps(value), flush=True)


def run_child(module: str, args: list[str]) -> Any:
    """Run ``python -m module *args`` in its own process (one configuration each) and return its result."""
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


def save_benchmark(out: Path, meta: dict, **payload: Any) -> None:
    """``out/results.json`` (meta and the measurements) and ``out/run.json`` (meta: machine, command, times)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, **payload}, indent=2) + "\n")
    (out / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
