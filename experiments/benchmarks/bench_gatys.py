"""Benchmark: time per Gatys optimisation step, nst (JAX) against the same objective in PyTorch.

    python -m experiments.benchmarks.bench_gatys [--sizes 256 512] [--steps 8] [--out results/bench_gatys]

Same VGG19 weights (our converted cache), same layers (content relu4_2, style
relu1_1..relu5_1), same loss convention, same image size.  Each measurement
runs in its own subprocess so the peak resident memory (ru_maxrss) belongs to
that configuration alone.  The first step (JAX compilation; PyTorch warm-up)
is reported separately; the step time is the median of the following steps.

PyTorch is a peer for comparison only (``pip install torch==2.13.0``), never
a dependency of nst.  L-BFGS in PyTorch is ``torch.optim.LBFGS(max_iter=1)``
without a line search (as jcjohnson/neural-style does); nst's L-BFGS takes a
backtracking line search step, which accepts the unit step almost always.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "data/content/eval/kodak_kodim23.jpg"
STYLE = ROOT / "data/styles/vangogh_starry_night.jpg"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _images(size: int):
    from nst.io.images import load_image

    return load_image(CONTENT, size=size), load_image(STYLE, size=size)


def run_jax(size: int, optimizer: str, steps: int) -> dict:
    from nst.methods.gatys import gatys_transfer
    from nst.core.vgg import VGG19

    vgg = VGG19.pretrained()
    content, style = _images(size)
    res = gatys_transfer(content, style, size=size, steps=steps, optimizer=optimizer, vgg=vgg, verbose=False)
    return {"first_step_s": res.compile_seconds, "step_s": statistics.median(res.step_seconds),
            "final_loss": res.history[-1]}


def run_torch(size: int, optimizer: str, steps: int) -> dict:
    import numpy as np
    import torch

    from experiments.benchmarks.torch_peer import gram, torch_vgg19

    torch.manual_seed(0)
    features = torch_vgg19("relu5_1")

    content, style = _images(size)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]  # noqa: E731
    c_t, s_t = to_t(content), to_t(style)
    with torch.no_grad():
        p = features(c_t, {"relu4_2"})["relu4_2"]
        targets = {k: gram(v) for k, v in features(s_t, set(STYLE_LAYERS)).items()}
    x = c_t.clone().requires_grad_(True)

    def objective():
        f = features(x, set(STYLE_LAYERS) | {"relu4_2"})
        lc = ((f["relu4_2"] - p) ** 2).mean()
        ls = sum(((gram(f[k]) - targets[k]) ** 2).mean() for k in STYLE_LAYERS) / len(STYLE_LAYERS)
        return lc + 1e-3 * ls

    if optimizer == "adam":
        opt = torch.optim.Adam([x], lr=0.02)
    else:
        opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=10)

    def closure():
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    times, loss = [], None
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = opt.step(closure)
        times.append(time.perf_counter() - t0)
    return {"first_step_s": times[0], "step_s": statistics.median(times[1:]), "final_loss": float(loss),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def _child(framework: str, size: int, optimizer: str, steps: int) -> None:
    fn = run_jax if framework == "jax" else run_torch
    out = fn(size, optimizer, steps)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--frameworks", nargs="+", default=["jax", "torch"])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_gatys")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fw, size, opt, steps = args.child
        _child(fw, int(size), opt, int(steps))
        return
    rows = []
    for size in args.sizes:
        for opt in ("lbfgs", "adam"):
            for fw in args.frameworks:
                cmd = [sys.executable, "-m", "experiments.benchmarks.bench_gatys", "--child", fw, str(size), opt, str(args.steps)]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
                if proc.returncode or not line:
                    print(f"{fw} {size} {opt} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                row = {"framework": fw, "size": size, "optimizer": opt, **json.loads(line[0][7:])}
                rows.append(row)
                print(f"{fw:5} {size:4} px {opt:5}: step {row['step_s']:.3f} s, first step {row['first_step_s']:.2f} s,"
                      f" peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)
    import jax

    meta = {"command": "python -m experiments.benchmarks.bench_gatys " + " ".join(sys.argv[1:]),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
            "cpu_model": _cpu_model(), "jax": jax.__version__, "backend": jax.default_backend(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [f"Machine: {meta['cpu_model']} ({os.cpu_count()} cores), JAX {meta['jax']} ({meta['backend']}). "
             f"Command: `{meta['command']}`", "",
             "| size | optimizer | nst (JAX) s/step | PyTorch s/step | ratio JAX/PyTorch | JAX first step (compile) s "
             "| JAX peak RSS MB | PyTorch peak RSS MB |", "|---|---|---|---|---|---|---|---|"]
    for size in args.sizes:
        for opt in ("lbfgs", "adam"):
            j = next((r for r in rows if r["framework"] == "jax" and r["size"] == size and r["optimizer"] == opt), None)
            t = next((r for r in rows if r["framework"] == "torch" and r["size"] == size and r["optimizer"] == opt),
                     None)
            if j and t:
                lines.append(f"| {size} | {opt} | {j['step_s']:.3f} | {t['step_s']:.3f} | {j['step_s'] / t['step_s']:.2f} "
                             f"| {j['first_step_s']:.1f} | {j['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
