"""The README's figure: one photo by the three generations, labelled with what made each and its time.

    python -m experiments.scripts.readme_figure [--size 256] [--steps 300] [--out results/readme_figure]

Gatys: the default settings for ``--steps`` L-BFGS steps (wall time, compilation included).  Johnson
and Dumoulin: the committed reference models, warm median of 5 forward passes.  Writes
``figure.png``, ``run.json`` and ``summary.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHOTO, PAINTING = "kodak_kodim23", "vangogh_starry_night"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "readme_figure")
    args = ap.parse_args()

    import nst
    from experiments.runner import machine_info
    from nst.io.images import labelled_grid, load_image, save_image
    from nst.io.timing import warm_median

    photo = load_image(ROOT / "data/content/eval" / f"{PHOTO}.jpg", max_size=args.size)
    painting = load_image(ROOT / "data/styles" / f"{PAINTING}.jpg", max_size=args.size)
    gatys = nst.create("gatys", [ROOT / "data/styles" / f"{PAINTING}.jpg"], size=args.size, steps=args.steps,
                       verbose=False)
    t0 = time.perf_counter()
    g = gatys.stylize(photo, style=0)
    gatys_s = time.perf_counter() - t0
    johnson = nst.load(ROOT / "results/models/johnson_starry_night.nst")
    dumoulin = nst.load(ROOT / "results/models/dumoulin_8styles.nst")
    k = dumoulin.styles.index(PAINTING)
    j_s, _ = warm_median(lambda: johnson.stylize(photo, style=0), 5)
    d_s, _ = warm_median(lambda: dumoulin.stylize(photo, style=k), 5)
    j, d = johnson.stylize(photo, style=0), dumoulin.stylize(photo, style=k)
    labels = ["photo", f"1. Gatys: {args.steps} L-BFGS steps, {gatys_s:.0f} s",
              f"2. Johnson: one pass, {j_s * 1000:.0f} ms", f"3. Dumoulin (8 styles): one pass, {d_s * 1000:.0f} ms"]
    grid = labelled_grid([[photo, g, j, d]], labels, cell=args.size, column_images=[None, painting, painting, painting],
                         font_size=13)
    args.out.mkdir(parents=True, exist_ok=True)
    save_image(grid, args.out / "figure.png")
    info = {"command": "python -m experiments.scripts.readme_figure " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"), "photo": PHOTO, "painting": PAINTING, "size": args.size,
            "gatys_steps": args.steps, "gatys_seconds": round(gatys_s, 2), "johnson_seconds": round(j_s, 4),
            "dumoulin_seconds": round(d_s, 4), **machine_info()}
    (args.out / "run.json").write_text(json.dumps(info, indent=1) + "\n")
    (args.out / "summary.md").write_text(
        f"One photo ({PHOTO}, {args.size} px) and one painting ({PAINTING}) by the three generations on "
        f"{info['cpu']} ({info['cores']} cores, {info['backend']}), {info['date']}. Gatys: {args.steps} L-BFGS "
        f"steps at the default settings, {gatys_s:.1f} s wall time including compilation; Johnson and Dumoulin: "
        f"the committed reference models, warm median of 5 passes, {j_s * 1000:.0f} ms and {d_s * 1000:.0f} ms. "
        f"Command: `{info['command'].strip()}`.\n\n![the three generations](figure.png)\n")
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
