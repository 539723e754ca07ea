"""The XLA:CPU measurements behind four implementation choices (README, nst/gatys.py, nst/networks.py,
nst/xla_flags.py).

    python -m experiments.benchmarks.profile_xla_cpu [--out results/profile_xla_cpu]

1. Gatys objective forward+backward at 256 px: a plain jitted call vs the same call inside a
   ``lax.while_loop`` (where Optax's zoom line search evaluates it) — why nst's L-BFGS first
   searched its step from Python (the loop cost 4× with the earlier VGG19 code; see the summary for
   what it costs now).
2. The same forward+backward with the VGG19 weights passed as jit arguments (their backward
   kernels prepared once, `nst.core.vgg.frozen_conv`) vs closed over as compile-time constants —
   why the Gatys steps can take the weights as arguments, which saves memory (``bench_gatys``).
3. The network's final 9×9 32→3 convolution at 256²: ``lax.conv_general_dilated`` vs
   `nst.core.networks.conv_few_outputs` — why stylizing uses the latter.
4. YNNPACK on (jaxlib's default) vs off (what `nst.xla_flags` sets at ``import nst``), each in a
   fresh process: one convolution of every shape the network has at 512², stylizing one 512²
   image, one training step (256 px, batch 4) and a Gatys forward+backward at 256 px — why nst
   turns YNNPACK off.

Each time is the median of 5 warm calls (3 for the training step).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def median_time(fn, *args, n: int = 5) -> float:
    import jax

    jax.block_until_ready(fn(*args))
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


# (name, input side at 512² stylize, C_in, C_out, kernel, stride) of the width-1 network's convolutions
CONV_SHAPES = [("conv1 9×9 3→32", 512, 3, 32, 9, 1), ("conv2 3×3/2 32→64", 512, 32, 64, 3, 2),
               ("conv3 3×3/2 64→128", 256, 64, 128, 3, 2), ("residual 3×3 128→128", 128, 128, 128, 3, 1),
               ("up1 3×3 128→64", 256, 128, 64, 3, 1), ("up2 3×3 64→32", 512, 64, 32, 3, 1)]


def ynn_child() -> dict:
    """The YNNPACK-sensitive timings, in this process's XLA setting (printed as JSON)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from experiments.benchmarks.bench_feedforward import jax_train
    from nst import xla_flags
    from nst.methods.gatys import GatysConfig, gatys_objective, gatys_targets
    from nst.io.images import load_image
    from nst.core.networks import NetworkConfig, TransformerNet
    from nst.core.vgg import VGG19

    rng = np.random.default_rng(0)
    out: dict = {"status": xla_flags.status, "conv": {}}
    conv = jax.jit(lambda a, b, s: jax.lax.conv_general_dilated(a, b, (s, s), "VALID",
                                                                dimension_numbers=("NHWC", "HWIO", "NHWC")),
                   static_argnums=2)
    for name, side, cin, cout, k, stride in CONV_SHAPES:
        x = jnp.asarray(rng.random((1, side + k - 1, side + k - 1, cin), np.float32))
        w = jnp.asarray(rng.normal(size=(k, k, cin, cout)).astype(np.float32))
        out["conv"][name] = median_time(lambda a, b: conv(a, b, stride), x, w)
    net = TransformerNet(NetworkConfig(), nnx.Rngs(0))
    graphdef, params = nnx.split(net, nnx.Param)
    fwd = jax.jit(lambda p, x: nnx.merge(graphdef, p)(x, jnp.ones((1, 1)), inference=True))
    image = load_image(ROOT / "data/content/eval/kodak_kodim23.jpg", size=(512, 512))
    out["stylize_512"] = median_time(lambda x: fwd(params, x), jnp.asarray(image)[None])
    out["train_step"] = jax_train(4)["step_s"]
    cfg = GatysConfig(size=256)
    vgg = VGG19.pretrained()
    content = load_image(ROOT / "data/content/eval/kodak_kodim23.jpg", size=256)
    style = load_image(ROOT / "data/styles/vangogh_starry_night.jpg", size=256)
    targets = gatys_targets(vgg, content, [style], np.ones(1), cfg)
    step = jax.jit(jax.value_and_grad(lambda x, t, v: gatys_objective(x, v, t, cfg)[0]))  # weights as arguments
    out["gatys_256"] = median_time(lambda x: step(x, targets, vgg), jnp.asarray(content)[None])
    return out


def ynn_rows() -> list[list]:
    results = {}
    for key, extra in (("on", {"NST_KEEP_XLA_DEFAULTS": "1"}), ("off", {})):
        env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "NST_KEEP_XLA_DEFAULTS")}
        proc = subprocess.run([sys.executable, "-m", "experiments.benchmarks.profile_xla_cpu", "--ynn-child"], env={**env, **extra},
                              capture_output=True, text=True, check=True, cwd=ROOT)
        results[key] = json.loads(proc.stdout.strip().splitlines()[-1])
    on, off = results["on"], results["off"]
    assert off["status"].startswith("YNNPACK off"), off["status"]
    rows = [[f"{name} at 512² stylize: YNNPACK off vs on", off["conv"][name], on["conv"][name],
             on["conv"][name] / off["conv"][name]] for name in off["conv"]]
    for key, label in (("stylize_512", "stylize one 512² image (width-1 network)"),
                       ("train_step", "training step, 256 px, batch 4, VGG19 loss, Adam"),
                       ("gatys_256", "Gatys fwd+bwd 256 px")):
        rows.append([f"{label}: YNNPACK off vs on", off[key], on[key], on[key] / off[key]])
    return rows


def main() -> None:
    if "--ynn-child" in sys.argv:
        print(json.dumps(ynn_child()))
        return
    import jax
    import jax.numpy as jnp
    import numpy as np

    from experiments.runner import machine_info, markdown_table
    from nst.methods.gatys import GatysConfig, gatys_objective, gatys_targets
    from nst.io.images import load_image
    from nst.core.networks import conv_few_outputs
    from nst.core.vgg import VGG19

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "profile_xla_cpu")
    args = ap.parse_args()
    cfg = GatysConfig(size=256)
    vgg = VGG19.pretrained()
    content = load_image(ROOT / "data/content/eval/kodak_kodim23.jpg", size=256)
    style = load_image(ROOT / "data/styles/vangogh_starry_night.jpg", size=256)
    targets = gatys_targets(vgg, content, [style], np.ones(1), cfg)
    x = jnp.asarray(content)[None]
    rows = []

    as_args = jax.jit(jax.value_and_grad(lambda x, v, t: gatys_objective(x, v, t, cfg)[0]))
    as_consts = jax.jit(jax.value_and_grad(lambda x, t: gatys_objective(x, vgg, t, cfg)[0]))
    plain = median_time(lambda x: as_consts(x, targets), x)

    def in_loop(x):
        def body(c):
            i, y, _ = c
            v, g = jax.value_and_grad(lambda z: gatys_objective(z, vgg, targets, cfg)[0])(y)
            return i + 1, y - 1e-12 * g, v
        _, y, v = jax.lax.while_loop(lambda c: c[0] < 1, body, (0, x, jnp.float32(0)))
        return v, y  # return y too, so the gradient is not optimised away

    looped = median_time(jax.jit(in_loop), x)
    rows.append(["Gatys fwd+bwd 256 px: plain jit vs inside lax.while_loop", plain, looped, looped / plain])
    args_t = median_time(lambda x: as_args(x, vgg, targets), x)
    rows.append(["Gatys fwd+bwd 256 px: weights as arguments (prepared backward kernels) vs as constants",
                 args_t, plain, plain / args_t])

    rng = np.random.default_rng(0)
    xp = jnp.asarray(rng.normal(size=(1, 264, 264, 32)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(9, 9, 32, 3)), jnp.float32)
    conv = jax.jit(lambda a, b: jax.lax.conv_general_dilated(a, b, (1, 1), "VALID",
                                                             dimension_numbers=("NHWC", "HWIO", "NHWC")))
    fast = jax.jit(conv_few_outputs)
    err = float(jnp.abs(conv(xp, k) - fast(xp, k)).max() / jnp.abs(conv(xp, k)).max())
    t_fast, t_conv = median_time(fast, xp, k), median_time(conv, xp, k)
    rows.append([f"9×9 32→3 conv 256²: conv_few_outputs vs lax conv (rel. diff {err:.1e})", t_fast, t_conv,
                 t_conv / t_fast])

    rows += ynn_rows()
    info = machine_info()
    args.out.mkdir(parents=True, exist_ok=True)
    text = (f"Machine: {info['cpu']} ({info['cores']} cores), JAX {info['jax']} ({info['backend']}). "
            "Command: `python -m experiments.benchmarks.profile_xla_cpu`. Median of 5 warm calls (training step: 3), "
            "seconds. \"YNNPACK on\" is jaxlib's default (`NST_KEEP_XLA_DEFAULTS=1`), \"off\" what "
            "`import nst` sets (`nst/xla_flags.py`); each measured in its own process.\n\n"
            + markdown_table(["measurement", "chosen (s)", "alternative (s)", "alternative / chosen"],
                             [[r[0], f"{r[1]:.3f}", f"{r[2]:.3f}", f"{r[3]:.2f}"] for r in rows]))
    (args.out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
