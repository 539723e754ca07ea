"""Experiment 2 — speed table (Johnson et al. 2016, Table 1 analogue).

Gatys optimisation with N L-BFGS steps against one feedforward pass of the committed Johnson
reference model, at several sizes; the speed-up is their ratio.  The Gatys time is N × the median
warm step time, measured over ``gatys_timing_steps`` steps (all N in the gpu preset; 10 in the cpu
preset, where 500 steps at 1024 px would take over an hour per item); compilation is reported
separately.  Johnson et al. report roughly
1000× on a GPU; this reports what is measured on the machine that runs it.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from experiments.runner import ROOT, Experiment, markdown_table, register, save_figure, subplots

CONTENT = "data/content/eval/kodak_kodim23.jpg"
STYLE = "data/styles/vangogh_starry_night.jpg"
MODEL = "results/models/johnson_starry_night.nst"


def items(cfg: dict) -> list[dict]:
    out = [{"id": f"{m}-{s}", "method": m, "size": s} for s in cfg["sizes"] for m in ("gatys", "johnson")]
    if cfg.get("train_steps"):
        out.append({"id": "train-256", "method": "train", "size": 256})
    return out


def _train_item(cfg: dict) -> dict:
    """The jitted training step of the width-1 network at 256 px, batch 4 (bench_feedforward.jax_train)."""
    from experiments.benchmarks.bench_feedforward import jax_train

    r = jax_train(cfg["train_steps"])
    return {"seconds": r["step_s"], "first_call_seconds": r["first_s"], "images_per_second": r["images_per_s"],
            "steps": cfg["train_steps"], "batch_size": 4}


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    from nst.io.images import load_image

    if item["method"] == "train":
        return _train_item(cfg)
    size = int(item["size"])
    content = load_image(ROOT / CONTENT, size=(size, size))
    if item["method"] == "gatys":
        from nst.methods.gatys import gatys_transfer
        from nst.core.vgg import VGG19

        vgg = cache.setdefault("vgg", VGG19.pretrained())
        timed = min(cfg["gatys_steps"], cfg.get("gatys_timing_steps", cfg["gatys_steps"]))
        res = gatys_transfer(content, ROOT / STYLE, size=size, steps=timed, vgg=vgg, verbose=False)
        step = statistics.median(res.step_seconds) if res.step_seconds else res.seconds
        return {"seconds": step * cfg["gatys_steps"], "step_seconds": step, "timed_steps": timed,
                "first_call_seconds": res.compile_seconds, "wall_seconds": res.seconds, "steps": cfg["gatys_steps"]}
    import nst

    from nst.io.timing import warm_median

    model = cache.setdefault("johnson", nst.load(ROOT / MODEL))
    t0 = time.perf_counter()
    median, first = warm_median(lambda: model.stylize(content, style=0), cfg["repeats"])
    return {"seconds": median, "first_call_seconds": first, "wall_seconds": time.perf_counter() - t0, "steps": 1}


def plot(rows: list[dict], out: Path) -> list[Path]:
    sizes = sorted({int(r["size"]) for r in rows if r["method"] != "train"})
    get = lambda m, s: next((r for r in rows if r["method"] == m and int(r["size"]) == s), None)  # noqa: E731
    table = []
    for s in sizes:
        g, j = get("gatys", s), get("johnson", s)
        table.append([f"{s}×{s}", f"{g['seconds']:.2f} s ({int(g['steps'])} steps)" if g else "—",
                      f"{j['seconds'] * 1000:.1f} ms" if j else "—",
                      f"{g['seconds'] / j['seconds']:.0f}×" if g and j else "—"])
    mem = lambda r: f"{float(r['peak_rss_mb']):.0f} MB" if r and r.get("peak_rss_mb") not in ("", None) else "—"  # noqa: E731
    for row, s in zip(table, sizes):
        row += [mem(get("gatys", s)), mem(get("johnson", s))]
    md = out / "summary.md"
    text = ("Gatys (warm time: N steps × the median step time) against one pass of the Johnson reference "
            "model (warm median); peak resident memory of the process during each item.\n\n"
            + markdown_table(["size", "Gatys", "feedforward", "speed-up", "peak memory, Gatys",
                              "peak memory, feedforward"], table))
    train = next((r for r in rows if r["method"] == "train"), None)
    if train:
        text += (f"\n\nTraining step of the width-1 network, 256 px, batch {int(train['batch_size'])}: "
                 f"{float(train['images_per_second']):.2f} images/s ({float(train['seconds']):.2f} s per step, "
                 f"warm median of {int(train['steps']) - 1}; first call {float(train['first_call_seconds']):.1f} s; "
                 f"peak memory {mem(train)}).\n")
    md.write_text(text)
    fig, ax = subplots(figsize=(5.5, 3.5), dpi=100)
    for m in ("gatys", "johnson"):
        pts = [(s, get(m, s)["seconds"]) for s in sizes if get(m, s)]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=m)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("image side (px)")
    ax.set_ylabel("time per image (s)")
    ax.set_title("Stylizing one image: optimisation vs feedforward")
    ax.legend()
    return [md, save_figure(fig, out / "speed.png")]


def reads(cfg: dict) -> list[str]:
    return [MODEL]


EXPERIMENT = register(Experiment(
    name="speed",
    description="Gatys N steps vs one feedforward pass at several sizes (Johnson et al. Table 1)",
    presets={"quick": {"sizes": [64], "gatys_steps": 5, "repeats": 2},
             "cpu": {"sizes": [256, 512, 1024], "gatys_steps": 500, "gatys_timing_steps": 10, "repeats": 5,
                     "train_steps": 6},
             "gpu": {"sizes": [256, 512, 1024], "gatys_steps": 500, "repeats": 20, "train_steps": 50}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
