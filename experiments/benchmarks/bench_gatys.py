"""Benchmark: time per Gatys optimisation step, nst (JAX) against the same objective in PyTorch.

    python -m experiments.benchmarks.bench_gatys [--sizes 256 512] [--steps 8] [--rounds 1] [--out results/bench_gatys]

Same VGG19 weights (our converted cache), same layers (content relu4_2, style
relu1_1..relu5_1), same loss convention, same image size.  Each measurement
runs in its own subprocess so the peak resident memory (ru_maxrss) belongs to
that configuration alone.  The first step (JAX compilation; PyTorch warm-up)
is reported separately; the step time is the median of the following steps.  With ``--rounds R``
every configuration runs R times, in rounds that each run every configuration once, forward and
backward in turn, and each number is the median over the rounds.  A machine whose speed drifts
steadily during the benchmark then weighs on every configuration about alike instead of favouring
the ones that ran last; for R = 2 exactly so under a linear drift, since the median of two rounds
is their mean and a configuration's two runs are as far from the run's middle on either side.

PyTorch is a peer for comparison only (``pip install torch==2.13.0``), never
a dependency of nst.  L-BFGS in PyTorch is ``torch.optim.LBFGS(max_iter=1)``
without a line search (as jcjohnson/neural-style does); nst's L-BFGS takes a
backtracking line search step, which accepts the unit step almost always.

A second table (``--ablations``, L-BFGS) puts back, one at a time, what nst did before each change
that brought its step to PyTorch's, each in its own process:

* ``pool_reduce_window``: pooling by ``lax.reduce_window`` (its gradient is ``select_and_scatter``);
* ``gram_autodiff``: the Gram matrix differentiated by autodiff instead of its written-out VJP;
* ``flip_per_call``: the VGG weights as arguments without the prepared backward kernels (each
  gradient evaluation flips every kernel);
* ``weights_constant``: the VGG weights closed over as compile-time constants;
* ``before``: all four together, i.e. the step as it was before.

The optimizer ``lbfgs_torch`` is nst's ``linesearch="none"``: torch's L-BFGS step by step (unit steps,
no line search, curvature pairs with s·y ≤ 1e-10 left out), the algorithm the PyTorch L-BFGS rows run,
with the same 10 pairs; it is compared with those rows.  Its ablation ``history_copied`` compiles the
direction without donating the L-BFGS history, so each step copies its ring buffers, as before the
history was donated.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
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


ABLATIONS = ("pool_reduce_window", "gram_autodiff", "flip_per_call", "weights_constant", "before")
OPTIMIZERS = ("lbfgs", "adam", "lbfgs_torch")  # nst's names; PyTorch runs its L-BFGS for both L-BFGS rows
TORCH_LBFGS_ABLATIONS = ("history_copied",)


def _apply_ablation(variant: str):
    """Put back the earlier implementation named by ``variant``; returns the VGG19 to use."""
    import jax
    import jax.numpy as jnp

    import nst.core.objective as objective_module
    import nst.core.vgg as vgg_module
    import nst.methods.gatys as gatys_module
    from nst.methods.optimizers import ImageOptimizer

    parts = set(ABLATIONS[:4]) if variant == "before" else {variant} - {"nst"}
    if "history_copied" in parts:
        built = gatys_module._optimizer_for

        def optimizer_without_donation(cfg):
            opt = built(cfg)
            if hasattr(opt, "_torch_next"):  # the same direction function, jitted without donate_argnames
                opt._torch_next = jax.jit(opt._torch_next.__wrapped__)
            return opt

        gatys_module._optimizer_for = optimizer_without_donation
    if "pool_reduce_window" in parts:
        def pool(x, pooling):
            win = (1, 2, 2, 1)
            if pooling == "max":
                return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, win, win, "VALID")
            return jax.lax.reduce_window(x, 0.0, jax.lax.add, win, win, "VALID") * 0.25
        vgg_module._pool = pool
    if "gram_autodiff" in parts:
        def gram(features):
            b, h, w, c = features.shape
            f = features.reshape(b, h * w, c)
            return jnp.einsum("bmi,bmj->bij", f, f, preferred_element_type=jnp.float32) / (h * w)
        objective_module.gram_matrix = gram
    vgg = vgg_module.VGG19.pretrained(max_layer="relu5_1")
    if "flip_per_call" in parts:
        vgg = vgg_module.VGG19({k: v for k, v in vgg.params.items() if not k.endswith(".weight_t")})
    if "weights_constant" in parts:
        constant_vgg = vgg

        def optimizer_for(cfg):
            objective = cfg.objective()

            def value_fn(x, data):
                targets = data[1]
                return objective(constant_vgg, x, targets.content, targets.styles, targets.mix)[0][0]

            return ImageOptimizer(value_fn, cfg.optimizer, cfg.learning_rate, cfg.lbfgs_memory, cfg.linesearch)

        gatys_module._optimizer_for = optimizer_for
    return vgg


def run_jax(size: int, optimizer: str, steps: int, variant: str = "nst") -> dict:
    from nst.methods.gatys import gatys_transfer

    vgg = _apply_ablation(variant)
    content, style = _images(size)
    options = {"optimizer": "lbfgs", "linesearch": "none"} if optimizer == "lbfgs_torch" else {"optimizer": optimizer}
    res = gatys_transfer(content, style, size=size, steps=steps, vgg=vgg, verbose=False, **options)
    return {"first_step_s": res.compile_seconds, "step_s": statistics.median(res.step_seconds),
            "final_loss": res.history[-1]}


def run_torch(size: int, optimizer: str, steps: int) -> dict:
    import numpy as np
    import torch

    from experiments.benchmarks.torch_peer import gram, torch_vgg19

    torch.manual_seed(0)
    features = torch_vgg19("relu5_1")

    content, style = _images(size)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]
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


def _child(framework: str, size: int, optimizer: str, steps: int) -> dict:
    if framework == "torch":
        out = run_torch(size, optimizer, steps)
    else:
        out = run_jax(size, optimizer, steps, framework.split(":", 1)[1] if ":" in framework else "nst")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def median_over_rounds(rounds: list[list[dict]]) -> list[dict]:
    """One row per configuration (``framework``, ``size``, ``optimizer``): the median of each number over
    the rounds, in the first round's order; other fields from the first round."""
    key = lambda r: (r["framework"], r["size"], r["optimizer"])  # noqa: E731
    out = []
    for first in rounds[0]:
        same = [r for rows in rounds for r in rows if key(r) == key(first)]
        out.append({**first, **{k: statistics.median(r[k] for r in same)
                                for k in ("first_step_s", "step_s", "final_loss", "peak_rss_mb")},
                    "rounds": len(same)})
    return out


def write_summary(out: Path) -> None:
    data = json.loads((out / "results.json").read_text())
    meta, rows = data["meta"], data["rows"]
    sizes = sorted({r["size"] for r in rows})

    def find(fw, size, opt):
        return next((r for r in rows if r["framework"] == fw and r["size"] == size and r["optimizer"] == opt), None)

    rounds = (f" Every configuration ran in {meta['rounds']} rounds, forward and backward in turn; each number "
              "is the median over the rounds." if meta.get("rounds", 1) > 1 else "")
    lines = [(f"Machine: {meta['cpu_model']} ({meta.get('cores', os.cpu_count())} cores), JAX {meta['jax']} "
             f"({meta['backend']}), PyTorch {meta.get('torch', '?')}. Command: `{meta['command']}`"), "",
             ("Time per optimisation step (median after the first) and peak resident memory, each configuration "
             "in its own process. Goal (issue #18): step ≤ 1.0× PyTorch's, memory ≤ 1.3×." + rounds), "",
             ("| size | optimizer | nst (JAX) s/step | PyTorch s/step | ratio JAX/PyTorch | JAX first step (compile) s "
             "| JAX peak RSS MB | PyTorch peak RSS MB | memory ratio |"), "|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        for opt in OPTIMIZERS:
            j, t = find("jax", size, opt), find("torch", size, "lbfgs" if opt == "lbfgs_torch" else opt)
            if j and t:
                lines.append(f"| {size} | {opt} | {j['step_s']:.3f} | {t['step_s']:.3f} | **{j['step_s'] / t['step_s']:.2f}** "
                             f"| {j['first_step_s']:.1f} | {j['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} "
                             f"| **{j['peak_rss_mb'] / t['peak_rss_mb']:.2f}** |")
    def ablation_table(intro: str, optimizer: str, variants: tuple[str, ...]) -> list[str]:
        table = ["", intro, "", "| size | variant | s/step | × nst | first step s | peak RSS MB | × PyTorch's memory |",
                 "|---|---|---|---|---|---|---|"]
        for size in sizes:
            base, torch_row = find("jax", size, optimizer), find("torch", size, "lbfgs")
            for v in ("nst", *variants):
                r = base if v == "nst" else find(f"jax:{v}", size, optimizer)
                if r and base:
                    mem = f"{r['peak_rss_mb'] / torch_row['peak_rss_mb']:.2f}" if torch_row else "—"
                    table.append(f"| {size} | {v} | {r['step_s']:.3f} | {r['step_s'] / base['step_s']:.2f} "
                                 f"| {r['first_step_s']:.1f} | {r['peak_rss_mb']:.0f} | {mem} |")
        return table

    if any(r["framework"].split(":")[-1] in ABLATIONS for r in rows):
        lines += ablation_table("Ablations, L-BFGS: each row puts back one earlier implementation (see the module "
                                "docstring); `before` puts back all four.", "lbfgs", ABLATIONS)
    if any(r["framework"].split(":")[-1] in TORCH_LBFGS_ABLATIONS for r in rows):
        lines += ablation_table("`lbfgs_torch` is torch's L-BFGS written in nst (`linesearch=\"none\"`), against the "
                                "same algorithm in PyTorch; `history_copied` compiles its direction without donating "
                                "the L-BFGS history (see the module docstring).", "lbfgs_torch", TORCH_LBFGS_ABLATIONS)
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    from experiments.runner import benchmark_parser

    ap = benchmark_parser(__doc__, "bench_gatys", 4)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--frameworks", nargs="+", default=["jax", "torch"])
    ap.add_argument("--ablations", action="store_true", help="also time each earlier implementation (L-BFGS)")
    ap.add_argument("--rounds", type=int, default=1, help="run every configuration this many times, round by round")
    args = ap.parse_args()
    from experiments.runner import child_result, machine_info, run_child, save_benchmark

    if args.summarize:
        write_summary(args.summarize)
        return
    if args.child:
        fw, size, opt, steps = args.child
        child_result(_child(fw, int(size), opt, int(steps)))
        return
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    runs = [(size, opt, fw) for size in args.sizes for opt in OPTIMIZERS for fw in args.frameworks
            if not (fw == "torch" and opt == "lbfgs_torch")]  # PyTorch's L-BFGS row is that algorithm already
    if args.ablations:
        runs += [(size, "lbfgs", f"jax:{v}") for size in args.sizes for v in ABLATIONS]
        runs += [(size, "lbfgs_torch", f"jax:{v}") for size in args.sizes for v in TORCH_LBFGS_ABLATIONS]
    rounds = []
    for round_index in range(args.rounds):
        rows = []
        for size, opt, fw in runs if round_index % 2 == 0 else runs[::-1]:
            row = {"framework": fw, "size": size, "optimizer": opt,
                   **run_child("experiments.benchmarks.bench_gatys", ["--child", fw, str(size), opt, str(args.steps)])}
            rows.append(row)
            print(f"round {round_index + 1} {fw:24} {size:4} px {opt:5}: step {row['step_s']:.3f} s, first step "
                  f"{row['first_step_s']:.2f} s, peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)
        rounds.append(rows)
    rows = median_over_rounds(rounds)
    torch_version = next((r["torch"] for r in rows if "torch" in r), None)
    meta = {**machine_info(), "command": " ".join(["python -m experiments.benchmarks.bench_gatys", *sys.argv[1:]]),
            "cpu_model": _cpu_model(), "torch": torch_version, "start": started, "rounds": args.rounds,
            "end": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    save_benchmark(args.out, meta, rows=rows, rounds=rounds)
    write_summary(args.out)
    print((args.out / "summary.md").read_text())


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
