"""Benchmark: what the stylize border costs, and whether it still removes the edge line, per stage.

    python -m experiments.benchmarks.bench_border [--sizes 256 512 1024] [--repeats 11]
        [--out results/bench_border]

The reference models draw a 1–2 px line along the picture's edge when run bare; a reflection border,
cropped off again, removes it (``results/border``).  `nst.core.networks.TransformerNet` can add the
border at two stages: around the picture (``input``, every layer pays for it) or around the
quarter-resolution map of the residual blocks only (``residual``), which is where the line comes
from.  Configurations: none, input 8 and 16 px, residual 8 and 16 px (2 and 4 quarter-resolution px).

* Cost: one stylize pass of the width-1 network on a ``size``² picture, warm median of
  ``--repeats`` calls, each configuration in its own process; extra = time ÷ no border − 1.
  Issue #18 asks for the border's cost (input 16 px) to be halved.
* Line: `nst.evaluate.border_line_contrast` of every style of the three reference models on 4
  evaluation photos at 384 px (mean and worst; the photos themselves score about 1.25 / 1.5).
* Loss: the evaluator's style and content losses of the first style of each model, over those
  with no border (whole picture, mean over the photos).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {"none": (0, "input"), "input 8": (8, "input"), "input 16": (16, "input"),
           "residual 8": (8, "residual"), "residual 16": (16, "residual")}
MODELS = ("johnson_starry_night", "johnson_great_wave", "dumoulin_8styles")


def time_child(config: str, size: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from nst.core.networks import NetworkConfig, TransformerNet

    border, stage = CONFIGS[config]
    net = TransformerNet(NetworkConfig(), nnx.Rngs(0))
    graphdef, params = nnx.split(net, nnx.Param)
    fwd = jax.jit(lambda p, x, w: nnx.merge(graphdef, p)(x, w, inference=True, border=border, border_stage=stage))
    x = jnp.asarray(np.random.default_rng(0).random((1, size, size, 3), np.float32))
    w = jnp.ones((1, 1))
    for _ in range(3):
        fwd(params, x, w).block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fwd(params, x, w).block_until_ready()
        times.append(time.perf_counter() - t0)
    return {"config": config, "size": size, "median_s": statistics.median(times)}


def quality() -> list[dict]:
    import nst
    from nst.evaluate import Evaluator, border_line_contrast
    from nst.io.images import load_image

    photos = [load_image(f, max_size=392)[4:-4, 4:-4] for f in sorted((ROOT / "data/content/eval").glob("*.jpg"))[:4]]
    evaluator = Evaluator.create()
    baseline = [border_line_contrast(p) for p in photos]
    rows = [{"model": "photos", "config": "—", "contrast_mean": float(np.mean(baseline)),
             "contrast_worst": float(np.max(baseline))}]
    for name in MODELS:
        model = nst.load(ROOT / "results/models" / f"{name}.nst")
        painting = load_image(ROOT / "data/styles" / f"{model.styles[0]}.jpg", max_size=392)
        base = None
        for config, (border, stage) in CONFIGS.items():
            m = model.with_border(border, stage)
            outs = [[m.stylize(p, style=k) for p in photos] for k in range(m.num_styles)]
            contrast = [border_line_contrast(o) for per_style in outs for o in per_style]
            scores = [evaluator(o, p, painting) for o, p in zip(outs[0], photos)]
            loss = {k: float(np.mean([s[k] for s in scores])) for k in ("style", "content")}
            base = base or loss
            rows.append({"model": name, "config": config, "contrast_mean": float(np.mean(contrast)),
                         "contrast_worst": float(np.max(contrast)), "style_vs_none": loss["style"] / base["style"],
                         "content_vs_none": loss["content"] / base["content"]})
            print(f"{name} {config}: contrast {rows[-1]['contrast_mean']:.2f} / {rows[-1]['contrast_worst']:.2f}",
                  flush=True)
    return rows


def write_summary(out: Path) -> None:
    data = json.loads((out / "results.json").read_text())
    meta, timing, lines_ = data["meta"], data["timing"], data["quality"]
    sizes = sorted({t["size"] for t in timing})
    t = {(r["config"], r["size"]): r["median_s"] for r in timing}
    lines = [f"Machine: {meta['cpu']} ({meta['cores']} cores), JAX {meta['jax']}. Command: `{meta['command']}`", "",
             "Cost of one stylize pass (width-1 network, warm median of "
             f"{meta['repeats']}), each configuration in its own process; extra = time ÷ no border − 1.", "",
             "| border | " + " | ".join(f"{s}² ms | extra" for s in sizes) + " |",
             "|---|" + "---|---|" * len(sizes)]
    for c in CONFIGS:
        cells = [f"{t[(c, s)] * 1e3:.1f} | {t[(c, s)] / t[('none', s)] - 1:+.0%}" for s in sizes]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "Edge line: `border_line_contrast` over every style of each reference model on 4 evaluation "
              "photos at 384 px (about 1: no line); evaluator losses of the first style over those with no "
              "border (whole picture).", "",
              "| model | border | contrast mean | contrast worst | style ÷ none | content ÷ none |", "|---|---|---|---|---|---|"]
    for r in lines_:
        extra = (f"{r['style_vs_none']:.3f} | {r['content_vs_none']:.3f}" if "style_vs_none" in r else "— | —")
        lines.append(f"| {r['model']} | {r['config']} | {r['contrast_mean']:.2f} | {r['contrast_worst']:.2f} | {extra} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    from experiments.runner import benchmark_parser

    ap = benchmark_parser(__doc__, "bench_border", 2)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--repeats", type=int, default=11)
    args = ap.parse_args()
    if args.summarize:
        write_summary(args.summarize)
        return
    from experiments.runner import child_result, machine_info, run_child, save_benchmark

    if args.child:
        child_result(time_child(args.child[0], int(args.child[1]), args.repeats))
        return
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    timing = []
    for size in args.sizes:
        for config in CONFIGS:
            timing.append(run_child("experiments.benchmarks.bench_border",
                                    ["--child", config, str(size), "--repeats", str(args.repeats)]))
            print(f"{config} {size}: {timing[-1]['median_s'] * 1e3:.1f} ms", flush=True)
    rows = quality()
    meta = {**machine_info(), "command": " ".join(["python -m experiments.benchmarks.bench_border", *sys.argv[1:]]),
            "start": started, "end": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "repeats": args.repeats}
    save_benchmark(args.out, meta, timing=timing, quality=rows)
    write_summary(args.out)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
