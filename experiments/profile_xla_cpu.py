"""The XLA:CPU measurements behind three implementation choices (README, nst/gatys.py, nst/networks.py).

    python experiments/profile_xla_cpu.py [--out results/profile_xla_cpu]

1. Gatys objective forward+backward at 256 px: a plain jitted call vs the same call inside a
   ``lax.while_loop`` (where Optax's zoom line search evaluates it) — why nst's L-BFGS searches its
   step from Python.
2. The same forward+backward with the VGG19 weights passed as jit arguments vs closed over as
   compile-time constants — why the Gatys steps close over the weights.
3. The network's final 9×9 32→3 convolution at 256²: ``lax.conv_general_dilated`` vs
   `nst.networks.conv_few_outputs` — why stylizing uses the latter.

Each time is the median of 5 warm calls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_time(fn, *args, n: int = 5) -> float:
    import jax

    jax.block_until_ready(fn(*args))
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from experiments.runner import machine_info, markdown_table
    from nst.gatys import GatysConfig, _targets, gatys_objective
    from nst.images import load_image
    from nst.networks import conv_few_outputs
    from nst.vgg import VGG19

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "profile_xla_cpu")
    args = ap.parse_args()
    cfg = GatysConfig(size=256)
    vgg = VGG19.pretrained()
    content = load_image(ROOT / "data/content/eval/kodak_kodim23.jpg", size=256)
    style = load_image(ROOT / "data/styles/vangogh_starry_night.jpg", size=256)
    targets = _targets(vgg, content, [style], np.ones(1), cfg)
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
    rows.append(["Gatys fwd+bwd 256 px: weights as constants vs as arguments", plain, args_t, args_t / plain])

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

    info = machine_info()
    args.out.mkdir(parents=True, exist_ok=True)
    text = (f"Machine: {info['cpu']} ({info['cores']} cores), JAX {info['jax']} ({info['backend']}). "
            "Command: `python experiments/profile_xla_cpu.py`. Median of 5 warm calls, seconds.\n\n"
            + markdown_table(["measurement", "chosen (s)", "alternative (s)", "alternative / chosen"],
                             [[r[0], f"{r[1]:.3f}", f"{r[2]:.3f}", f"{r[3]:.2f}"] for r in rows]))
    (args.out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
