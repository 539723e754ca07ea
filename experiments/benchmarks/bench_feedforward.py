"""Benchmark: feedforward stylize latency and training throughput, nst (JAX) against PyTorch.

    python -m experiments.benchmarks.bench_feedforward [--sizes 256 512 1024] [--repeats 5] [--train-steps 6]
        [--frameworks jax torch] [--out results/bench_feedforward]

* stylize latency: one image (square, ``size``²) through the width-1.0 network, warm median of
  ``--repeats`` runs; the first (compiling) call is reported separately.  nst is timed three times:
  the bare network (what PyTorch runs), with a 16-px reflection border around the input (the first
  `stylize` default), and with the residual-stage border of 8 px (the default now,
  ``results/bench_border``); each ratio is over
  PyTorch's bare network;
* training throughput: images per second of the full training step (network forward+backward,
  VGG19 perceptual loss to relu4_1, Adam) at 256 px, batch 4.

Same architecture in both (reflection pad, convs without bias, instance norm, nearest upsampling,
sigmoid); PyTorch 2.13.0 CPU is a peer for comparison only (``pip install torch==2.13.0``).
Each configuration runs in its own subprocess.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def jax_stylize(size: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from nst.core.networks import NetworkConfig, TransformerNet

    net = TransformerNet(NetworkConfig(), nnx.Rngs(0))
    graphdef, params = nnx.split(net, nnx.Param)
    fwd = jax.jit(lambda p, x, w, b, stage: nnx.merge(graphdef, p)(x, w, inference=True, border=b,
                                                                    border_stage=stage), static_argnums=(3, 4))
    x = jnp.asarray(_image(size))[None]
    w = jnp.ones((1, 1))
    out = {}
    # border 0: the bare network, as PyTorch runs it; input 16: the first `stylize` default (reflection
    # border cropped off again, see nst/core/networks.py); residual 8: the default since the retraining
    for key, border, stage in (("", 0, "input"), ("border_", 16, "input"),
                               ("residual_border_", 8, "residual")):
        t0 = time.perf_counter()
        fwd(params, x, w, border, stage).block_until_ready()
        out[key + "first_s"] = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fwd(params, x, w, border, stage).block_until_ready()
            times.append(time.perf_counter() - t0)
        out[key + "median_s"] = statistics.median(times)
    return out


def jax_train(steps: int) -> dict:
    import jax
    import numpy as np
    import optax
    from flax import nnx

    from nst.core.networks import NetworkConfig, TransformerNet
    from nst.methods.training import TrainConfig, TrainState, make_train_step, style_targets
    from nst.recipes import with_recipe
    from nst.core.vgg import VGG19

    cfg = TrainConfig(**with_recipe({"recipe": "nst2026"}, "train"))  # the loss the PyTorch peer computes
    vgg = VGG19.pretrained(max_layer="relu4_1")
    grams = style_targets(vgg, [_image(256)], cfg)
    net = TransformerNet(NetworkConfig(), nnx.Rngs(0))
    graphdef, params = nnx.split(net, nnx.Param)
    tx = optax.adam(1e-3)
    step = make_train_step(graphdef, tx, vgg, grams, cfg)
    state = TrainState(params, tx.init(params), jax.numpy.zeros((), "int32"))
    batch = {"images": np.stack([_image(256)] * 4), "style_weights": np.ones((4, 1), np.float32)}
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        state, m = step(state, batch)
        jax.block_until_ready(m["loss"])
        times.append(time.perf_counter() - t0)
    return {"first_s": times[0], "step_s": statistics.median(times[1:]), "images_per_s": 4 / statistics.median(times[1:])}


def _torch_net():
    import torch
    from torch import nn

    class ConvNorm(nn.Module):
        def __init__(self, cin, cout, k, stride):
            super().__init__()
            self.pad = nn.ReflectionPad2d(k // 2)
            self.conv = nn.Conv2d(cin, cout, k, stride, bias=False)
            self.norm = nn.InstanceNorm2d(cout, affine=True, eps=1e-5)

        def forward(self, x):
            return self.norm(self.conv(self.pad(x)))

    class Res(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.a, self.b = ConvNorm(c, c, 3, 1), ConvNorm(c, c, 3, 1)

        def forward(self, x):
            return x + self.b(torch.relu(self.a(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.c3 = ConvNorm(3, 32, 9, 1), ConvNorm(32, 64, 3, 2), ConvNorm(64, 128, 3, 2)
            self.res = nn.Sequential(*[Res(128) for _ in range(5)])
            self.u1, self.u2, self.out = ConvNorm(128, 64, 3, 1), ConvNorm(64, 32, 3, 1), ConvNorm(32, 3, 9, 1)

        def forward(self, x):
            up = lambda t: nn.functional.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
            x = torch.relu(self.c3(torch.relu(self.c2(torch.relu(self.c1(x))))))
            x = self.res(x)
            x = torch.relu(self.u2(up(torch.relu(self.u1(up(x))))))
            return torch.sigmoid(self.out(x))

    return Net()


def torch_stylize(size: int, repeats: int) -> dict:
    import torch

    net = _torch_net().eval()
    x = torch.from_numpy(_image(size).transpose(2, 0, 1).copy())[None]
    with torch.inference_mode():
        t0 = time.perf_counter()
        net(x)
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t0)
    return {"first_s": first, "median_s": statistics.median(times), "torch": torch.__version__}


def torch_train(steps: int) -> dict:
    import torch

    from experiments.benchmarks.torch_peer import gram, torch_vgg19

    vgg = torch_vgg19("relu4_1")
    style_layers = {"relu1_1", "relu2_1", "relu3_1", "relu4_1"}
    feats = lambda x: vgg(x, style_layers | {"relu2_2"})  # noqa: E731
    img = torch.from_numpy(_image(256).transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        targets = {k: gram(v) for k, v in feats(img).items() if k in style_layers}
    net = _torch_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch = img.repeat(4, 1, 1, 1)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        out = net(batch)
        fo = feats(out)
        with torch.no_grad():
            fi = feats(batch)["relu2_2"]
        lc = ((fo["relu2_2"] - fi) ** 2).mean()
        ls = sum(((gram(fo[k]) - targets[k]) ** 2).mean() for k in style_layers) / 4
        loss = lc + 1e-3 * ls
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return {"first_s": times[0], "step_s": statistics.median(times[1:]), "images_per_s": 4 / statistics.median(times[1:])}


def _image(size: int):
    from nst.io.images import load_image

    return load_image(ROOT / "data/content/eval/kodak_kodim23.jpg", size=(size, size))


def main() -> None:
    from experiments.runner import benchmark_parser

    ap = benchmark_parser(__doc__, "bench_feedforward", 3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--train-steps", type=int, default=6)
    ap.add_argument("--frameworks", nargs="+", default=["jax", "torch"])
    args = ap.parse_args()
    if args.summarize:
        write_summary(args.summarize)
        return
    if args.child:
        fw, what, n = args.child
        fn = {("jax", "train"): lambda: jax_train(int(n)), ("torch", "train"): lambda: torch_train(int(n))}.get(
            (fw, what), lambda: (jax_stylize if fw == "jax" else torch_stylize)(int(what), int(n)))
        print("RESULT " + json.dumps(fn()))
        return
    rows = []
    jobs = [(fw, str(s), str(args.repeats)) for s in args.sizes for fw in args.frameworks]
    jobs += [(fw, "train", str(args.train_steps)) for fw in args.frameworks]
    for fw, what, n in jobs:
        proc = subprocess.run([sys.executable, "-m", "experiments.benchmarks.bench_feedforward", "--child", fw, what, n],
                              capture_output=True, text=True, cwd=ROOT)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{fw} {what} failed:\n{proc.stderr[-1500:]}", file=sys.stderr)
            continue
        row = {"framework": fw, "what": what, **json.loads(line[0][7:])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    from nst import xla_flags  # the children's XLA setting: `import nst` configures it the same way there

    import jax

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    meta = {"command": "python -m experiments.benchmarks.bench_feedforward " + " ".join(sys.argv[1:]), "cpu": cpu,
            "cores": os.cpu_count(), "jax": jax.__version__, "backend": jax.default_backend(),
            "device": str(jax.devices()[0].device_kind), "xla": xla_flags.status, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    write_summary(args.out)


def write_summary(out: Path) -> None:
    """Render summary.md from results.json (``--summarize DIR`` redoes only this)."""
    data = json.loads((out / "results.json").read_text())
    meta, rows = data["meta"], data["rows"]
    get = lambda fw, what: next((r for r in rows if r["framework"] == fw and r["what"] == what), None)  # noqa: E731
    sizes = sorted({int(r["what"]) for r in rows if r["what"].isdigit()})
    ms = lambda r, k: f"{r[k] * 1000:.1f} ms" if r else "—"  # noqa: E731
    command = meta["command"].split(" --out ")[0]
    dev = meta.get("device", "")
    dev = f"{dev}, host " if dev and dev.lower() != "cpu" else ""
    lines = [f"Machine: {dev}{meta['cpu']} ({meta['cores']} cores), JAX {meta['jax']} "
             f"({meta['backend']}; XLA:CPU {meta.get('xla', 'jaxlib defaults')}). Command: `{command}`", "",
             "| stylize, one image | nst (JAX) warm median | nst first call (compile) | PyTorch warm median "
             "| ratio JAX/PyTorch | input 16-px border | ratio | residual-stage 8-px border (the `stylize` default) | ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in sizes:
        j, t = get("jax", str(s)), get("torch", str(s))
        ratio = f"{j['median_s'] / t['median_s']:.2f}" if j and t else "—"
        cells = []
        for key in ("border_median_s", "residual_border_median_s"):
            cells.append(ms(j, key) if j and key in j else "—")
            cells.append(f"{j[key] / t['median_s']:.2f}" if j and t and key in j else "—")
        lines.append(f"| {s}×{s} | {ms(j, 'median_s')} | {j['first_s']:.1f} s | {ms(t, 'median_s')} | {ratio} "
                     f"| {' | '.join(cells)} |" if j else f"| {s}×{s} | — | — | {ms(t, 'median_s')} | — | — | — | — | — |")
    j, t = get("jax", "train"), get("torch", "train")
    if j or t:
        f = lambda r: f"{r['images_per_s']:.2f}" if r else "—"  # noqa: E731
        ratio = f"{j['step_s'] / t['step_s']:.2f}" if j and t else "—"
        lines += ["", "| training, 256 px, batch 4 | nst (JAX) | PyTorch | ratio of step times JAX/PyTorch |",
                  "|---|---|---|---|", f"| images per second | {f(j)} | {f(t)} | {ratio} |"]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
