"""Peak memory of one feedforward stylize per input pixel (the constant behind the stylize memory guard).

    python -m experiments.benchmarks.stylize_memory [--sizes 512 1024 1536] [--out results/stylize_memory]

Each size runs in its own process: the growth of the peak resident set (ru_maxrss) over one
`stylize` call of the Johnson reference model (compilation included), divided by the padded pixels.
`nst.interface.feedforward.STYLIZE_BYTES_PER_PIXEL` rounds the values at 1024 px and above up (below, the
compilation's own memory dominates the growth).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import resource, sys, numpy as np, nst
m = nst.load(sys.argv[1]).with_border(16, "input"); s = int(sys.argv[2])  # the widest padding: an upper bound
x = np.random.default_rng(0).random((s, s, 3)).astype(np.float32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
m.stylize(x, style=0)
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
print(grown, grown / (s + 2 * 16) ** 2)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 1536])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "stylize_memory")
    args = ap.parse_args()
    model = ROOT / "results" / "models" / "johnson_great_wave.nst"
    rows = []
    for s in args.sizes:
        out = subprocess.run([sys.executable, "-c", CHILD, str(model), str(s)], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout.split()
        rows.append({"size": s, "peak_growth_bytes": int(float(out[0])), "bytes_per_pixel": round(float(out[1]))})
    from experiments.runner import machine_info

    args.out.mkdir(parents=True, exist_ok=True)
    run = {"command": "python -m experiments.benchmarks.stylize_memory " + " ".join(sys.argv[1:]),
           "date": time.strftime("%Y-%m-%d"), "rows": rows, **machine_info()}
    (args.out / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    lines = [f"# Stylize memory per pixel ({run['cpu']}, {run['cores']} cores, JAX {run['jax']}, {run['date']})", "",
             f"Command: `{run['command'].strip()}`. Peak resident-set growth over one stylize call (compilation "
             "included) of the Johnson reference model, each size in a fresh process; per padded pixel "
             "(16-px border).", "", "| input | peak growth | bytes per pixel |", "|---|---|---|"]
    lines += [f"| {r['size']}² | {r['peak_growth_bytes'] / 1e6:.0f} MB | {r['bytes_per_pixel']} |" for r in rows]
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
