"""Does clipping the Gatys baseline to [0, 1] change how many iterations one network pass is worth?

    python -m experiments.scripts.gatys_clipped_baseline [--steps 150] [--out results/gatys_clipped_baseline]

`gatys_transfer` optimises an unconstrained image; its history scores that image, while the picture
it returns, and every network output, lies in [0, 1].  For the noise-start rows of
``results/quality_vs_time`` (the networks' training objective, Johnson et al.'s protocol), this
reruns the same optimisation and scores, at every step, both the unconstrained image (the history)
and the image clipped to [0, 1] (the callback's picture), then counts the iterations each needs to
reach the Johnson and Dumoulin reference networks' objective from that run's ``raw.csv``.
A measurement for issue #13; it changes nothing in the library.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PAIRS = (("kodak_kodim23", "vangogh_starry_night"), ("skimage_chelsea", "hokusai_great_wave"))


def first_at_or_below(values: np.ndarray, target: float) -> int | None:
    hits = np.nonzero(values <= target)[0]
    return int(hits[0]) + 1 if len(hits) else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "gatys_clipped_baseline")
    args = ap.parse_args()

    from experiments.registered.quality_vs_time import objective_overrides
    from experiments.runner import machine_info
    from nst.core.vgg import VGG19
    from nst.io.images import load_image
    from nst.methods.gatys import gatys_loss, gatys_transfer

    reference = {r["id"]: r for r in csv.DictReader(open(ROOT / "results/quality_vs_time/raw.csv"))}
    vgg, cache = VGG19.pretrained(), {}
    objective = objective_overrides("training", cache)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for content_name, style_name in PAIRS:
        row = reference[f"{content_name}-{style_name}-training-noise"]
        content = load_image(ROOT / "data/content/eval" / f"{content_name}.jpg", size=args.size)
        style = ROOT / "data/styles" / f"{style_name}.jpg"
        clipped: list[float] = []

        def score(step: int, image: np.ndarray, value: float) -> None:
            clipped.append(gatys_loss(image, content, style, vgg=vgg, size=args.size, **objective)["total"])

        res = gatys_transfer(content, style, size=args.size, steps=args.steps, vgg=vgg, verbose=False, init="noise",
                             seed=0, callback=score, callback_every=1, **objective)
        free, held = np.asarray(res.history), np.asarray(clipped)
        out = {"pair": f"{content_name} × {style_name}", "steps": args.steps,
               "final_unclipped": float(free[-1]), "final_clipped": float(held[-1])}
        for net in ("johnson", "dumoulin"):
            target = float(row[f"{net}_objective"])
            out[f"{net}_objective"] = target
            out[f"{net}_iterations_unclipped"] = first_at_or_below(free, target)
            out[f"{net}_iterations_clipped"] = first_at_or_below(held, target)
            out[f"{net}_iterations_quality_vs_time"] = int(row[f"{net}_equivalent_iterations"])
        rows.append(out)
        np.savetxt(args.out / f"{content_name}-{style_name}.csv", np.c_[np.arange(1, len(free) + 1), free, held],
                   delimiter=",", header="iteration,objective_unclipped,objective_clipped", comments="",
                   fmt=["%d", "%.6g", "%.6g"])
        print(json.dumps(out), flush=True)
    meta = {**machine_info(), "command": " ".join(["python -m experiments.scripts.gatys_clipped_baseline",
                                                    *sys.argv[1:]]),
            "start": started, "end": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "size": args.size, "steps": args.steps}
    (args.out / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    fmt = lambda v: "not within the run" if v is None else str(v)  # noqa: E731
    lines = ["The networks' training objective, Gatys started from white noise (Johnson et al.'s protocol, as the "
             "noise rows of `results/quality_vs_time`), at "
             f"{args.size} px for {args.steps} L-BFGS steps. Each step is scored twice: the unconstrained image the "
             "optimiser holds (what every Gatys history records) and that image clipped to [0, 1] (the picture "
             "Gatys returns; network outputs are in [0, 1] too). Columns: iterations until each curve reaches the "
             "objective of one reference-network pass (from `results/quality_vs_time/raw.csv`).", "",
             "| photo × painting | network | one pass | iterations, unclipped (this run) | iterations, "
             "unclipped (quality_vs_time) | iterations, clipped | final objective unclipped / clipped |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        for net in ("johnson", "dumoulin"):
            lines.append(f"| {r['pair']} | {net} | {r[f'{net}_objective']:.4g} | {fmt(r[f'{net}_iterations_unclipped'])} | "
                         f"{r[f'{net}_iterations_quality_vs_time']} | {fmt(r[f'{net}_iterations_clipped'])} | "
                         f"{r['final_unclipped']:.4g} / {r['final_clipped']:.4g} |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
