"""Benchmark: how close the Gatys step and the feedforward pass come to this machine's matmul peak.

    python -m experiments.benchmarks.machine_peak [--sizes 256 512] [--repeats 5] [--out results/machine_peak]

* **peak**: single-precision matrix products (n = 2048 and 4096) through JAX/XLA and through NumPy's
  BLAS, on all cores (the threads the timings below use); the best warm GFLOP/s of either is the
  machine's measured peak;
* **FLOPs counted from the layer shapes**: 2·Hₒ·Wₒ·k²·C_in·C_out per convolution and 2·M·N² per Gram
  matrix (M = H·W positions, N = C channels).  A Gatys evaluation (what L-BFGS calls once per step,
  and again on a line-search retry) is VGG19's forward pass to relu5_1, the backward pass to the
  image (input gradients only: the same convolution FLOPs again), and the Grams forward and
  backward; a feedforward pass is TransformerNet on the picture padded by the 16-px border and up
  to a multiple of 4, with the multiply-adds its upsampling layers perform (2×2 taps per output
  pixel, `nst.core.networks.upsample_conv`).  Element-wise work (ReLU, pooling, norms, the losses) is left out of the count,
  so the shares are a slight underestimate.  XLA's own count (``cost_analysis``) is printed beside it;
* **time**: warm median of ``--repeats`` calls of the jitted value-and-gradient of the Gatys objective
  (default settings, content start) and of ``stylize_batch`` of the width-1.0 network.

Each workload runs in its own subprocess.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "data" / "content" / "eval" / "kodak_kodim23.jpg"
STYLE = ROOT / "data" / "styles" / "vangogh_starry_night.jpg"
VGG_BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))  # VGG19: convs per block, channels


def conv_flops(h_out: int, w_out: int, k: int, c_in: int, c_out: int) -> int:
    return 2 * h_out * w_out * k * k * c_in * c_out


def vgg_forward_flops(h: int, w: int, last: str = "conv5_1") -> tuple[int, dict[str, tuple[int, int, int]]]:
    """Conv FLOPs of VGG19 up to ``last`` at h×w, and each relu's (M = H·W, N = C, H) on the way."""
    flops, c_in, shapes = 0, 3, {}
    for b, (n, c) in enumerate(VGG_BLOCKS, start=1):
        for k in range(1, n + 1):
            flops += conv_flops(h, w, 3, c_in, c)
            shapes[f"relu{b}_{k}"] = (h * w, c, h)
            c_in = c
            if f"conv{b}_{k}" == last:
                return flops, shapes
        h, w = h // 2, w // 2  # 2×2 pooling, floor
    return flops, shapes


def gatys_eval_flops(h: int, w: int) -> int:
    """One objective + gradient evaluation of the default Gatys objective (style relu1_1…relu5_1)."""
    from nst.methods.gatys import GatysConfig

    cfg = GatysConfig()
    fwd, shapes = vgg_forward_flops(h, w)
    grams = sum(2 * shapes[layer][0] * shapes[layer][1] ** 2 for layer in cfg.style_layers)
    return 2 * fwd + 2 * grams  # forward + input-gradient backward; Gram forward + its backward (F·dG)


def feedforward_flops(h: int, w: int, border: int = 16, width: float = 1.0) -> int:
    c1, c2, c3 = (max(1, round(c * width)) for c in (32, 64, 128))
    hp, wp = h + 2 * border, w + 2 * border
    hp, wp = hp + (-hp) % 4, wp + (-wp) % 4
    f = conv_flops(hp, wp, 9, 3, c1)
    f += conv_flops(hp // 2, wp // 2, 3, c1, c2) + conv_flops(hp // 4, wp // 4, 3, c2, c3)
    f += 5 * 2 * conv_flops(hp // 4, wp // 4, 3, c3, c3)
    # the two upsampling layers run as four 2×2 phase convolutions (`nst.core.networks.upsample_conv`):
    # 2×2 taps per output pixel instead of 3×3
    f += conv_flops(hp // 2, wp // 2, 2, c3, c2) + conv_flops(hp, wp, 2, c2, c1) + conv_flops(hp, wp, 9, c1, 3)
    return f


def xla_flops(compiled) -> float | None:
    try:
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        return float(cost.get("flops")) if cost and cost.get("flops") else None
    except Exception:  # noqa: BLE001 - an optional cross-check; some backends do not report it
        return None


def warm_times(fn, repeats: int) -> list[float]:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def child_peak(repeats: int) -> list[dict]:
    import jax
    import jax.numpy as jnp

    rows = []
    for n in (2048, 4096):
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
        mm = jax.jit(lambda x, y: x @ y)
        ja, jb = jnp.asarray(a), jnp.asarray(b)
        t_jax = warm_times(lambda: mm(ja, jb).block_until_ready(), repeats)
        t_np = warm_times(lambda: a @ b, repeats)
        for lib, times in (("JAX/XLA", t_jax), ("NumPy BLAS", t_np)):
            rows.append({"workload": f"matmul {n}×{n} ({lib})", "gflop": 2 * n**3 / 1e9,
                         "median_s": statistics.median(times), "best_s": min(times)})
    return rows


def child_gatys(size: int, repeats: int) -> list[dict]:
    import jax
    import jax.numpy as jnp

    from nst.core.vgg import VGG19
    from nst.io.images import load_image
    from nst.methods.gatys import GatysConfig, gatys_objective, gatys_targets

    cfg = GatysConfig()
    vgg = VGG19.pretrained(cfg.pooling, max_layer=cfg.objective().deepest_layer)
    content = load_image(PHOTO, size=(size, size))
    style = load_image(STYLE, size=size)
    targets = gatys_targets(vgg, content, [style], np.ones(1), cfg)
    # the weights as an argument, as the Gatys optimiser passes them (nst.methods.gatys._optimizer_for)
    value_and_grad = jax.jit(jax.value_and_grad(lambda x, v: jnp.sum(gatys_objective(x, v, targets, cfg)[0])))
    x = jnp.asarray(content)[None]
    compiled = value_and_grad.lower(x, vgg).compile()
    times = warm_times(lambda: jax.block_until_ready(compiled(x, vgg)), repeats)
    return [{"workload": f"Gatys objective + gradient, {size}×{size}", "gflop": gatys_eval_flops(size, size) / 1e9,
             "xla_gflop": (xla_flops(compiled) or 0) / 1e9, "median_s": statistics.median(times), "best_s": min(times)}]


def child_feedforward(size: int, repeats: int) -> list[dict]:
    import jax

    import nst
    from nst.io.images import load_image

    # the input-stage 16-px border these results were first measured with (not the residual default)
    model = nst.load(ROOT / "results" / "models" / "johnson_starry_night.nst").with_border(16, "input")
    x = load_image(PHOTO, size=(size, size))[None]
    w = np.ones((1, 1), np.float32)
    times = warm_times(lambda: jax.block_until_ready(model.stylize_batch(x, w)), repeats)
    return [{"workload": f"feedforward pass (16-px border), {size}×{size}",
             "gflop": feedforward_flops(size, size, model.border) / 1e9, "xla_gflop": None,
             "median_s": statistics.median(times), "best_s": min(times)}]


def run_child(args: list[str]) -> list[dict]:
    from experiments.runner import run_child as run

    return run("experiments.benchmarks.machine_peak", args)


def write_summary(out: Path) -> None:
    data = json.loads((out / "results.json").read_text())
    rows, meta = data["rows"], data["meta"]
    peak = max(r["gflop"] / r["best_s"] for r in rows if r["workload"].startswith("matmul"))
    lines = [f"Machine: {meta['cpu']} ({meta['cores']} cores), JAX {meta['jax']} ({meta['backend']}), all cores. "
             f"Command: `{meta['command']}`", "",
             f"Measured single-precision peak: **{peak:.0f} GFLOP/s** (the best matrix product below). FLOPs are "
             "counted from the layer shapes (convolutions and Gram matrices; element-wise work left out); "
             "XLA's own count is given where it reports one. Share = achieved GFLOP/s (warm median) ÷ peak.", "",
             "| workload | GFLOP per call (shapes) | GFLOP (XLA count) | warm median | best | GFLOP/s (median) | share of peak |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        rate = r["gflop"] / r["median_s"]
        xla = f"{r['xla_gflop']:.2f}" if r.get("xla_gflop") else "—"
        lines.append(f"| {r['workload']} | {r['gflop']:.2f} | {xla} | {r['median_s'] * 1000:.0f} ms | "
                     f"{r['best_s'] * 1000:.0f} ms | {rate:.0f} | {rate / peak:.0%} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    from experiments.runner import benchmark_parser

    ap = benchmark_parser(__doc__, "machine_peak", "+")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.summarize:
        write_summary(args.summarize)
        return
    if args.child:
        kind, *rest = args.child
        rows = {"peak": lambda: child_peak(args.repeats),
                "gatys": lambda: child_gatys(int(rest[0]), args.repeats),
                "feedforward": lambda: child_feedforward(int(rest[0]), args.repeats)}[kind]()
        from experiments.runner import child_result

        child_result(rows)
        return
    from experiments.runner import machine_info, save_benchmark

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    common = ["--repeats", str(args.repeats)]
    rows = run_child(["--child", "peak", *common])
    for size in args.sizes:
        rows += run_child(["--child", "gatys", str(size), *common])
        rows += run_child(["--child", "feedforward", str(size), *common])
        print(f"{size} px: done", flush=True)
    meta = {**machine_info(), "command": " ".join(["python -m experiments.benchmarks.machine_peak", *sys.argv[1:]]),
            "start": started, "end": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    save_benchmark(args.out, meta, rows=rows)
    write_summary(args.out)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
