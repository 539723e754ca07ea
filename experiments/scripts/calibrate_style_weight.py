"""How β (TrainConfig.style_weight) for the feedforward networks was chosen.

    python -m experiments.scripts.calibrate_style_weight [--weights 1e-3 1e-5] [--iterations 300]
        [--out results/calibration]

Trains a Johnson network on Starry Night for a few hundred iterations at 128 px (batch 2) on the
CPU for each β, stylizes three eval photos and writes ``style_weight_{β}.png`` (photos on top,
outputs below) and ``summary.md`` (weighted content and style loss at the end).  With β too large
the output is pure texture and the photo disappears; the default is the largest β tried that
still keeps the photo recognisable.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    from experiments.runner import markdown_table
    from nst.interface.feedforward import stylizer_from_training
    from nst.io.images import image_grid, load_image, save_image
    from nst.methods.training import TrainConfig, train
    from nst.recipes import with_recipe

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=float, nargs="+", default=[1e-3, 1e-5])
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "calibration")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = [load_image(ROOT / "data/content/eval" / n, size=192)
              for n in ("kodak_kodim23.jpg", "skimage_chelsea.jpg", "kodak_kodim21.jpg")]
    rows = []
    for beta in args.weights:
        res = train([ROOT / "data/styles/vangogh_starry_night.jpg"], ROOT / "data/content/train",
                    TrainConfig(**{**with_recipe({"recipe": "nst2026"}, "train"), "method": "johnson",
                                   "max_iterations": args.iterations, "batch_size": 2, "image_size": 128,
                                   "style_size": 256, "style_weight": beta, "style_layer_weights": None}),
                    progress_seconds=60)
        model = stylizer_from_training(res.model, res.meta)
        save_image(image_grid([photos, [model.stylize(p, style=0) for p in photos]], cell=192),
                   args.out / f"style_weight_{beta:g}.png")
        last = res.history[-50:]
        rows.append([f"{beta:g}", float(last[:, 2].mean()), float(last[:, 3].mean())])
    (args.out / "summary.md").write_text(
        f"Johnson on Starry Night, {args.iterations} iterations, 128 px, batch 2, CPU. Command: "
        "`python -m experiments.scripts.calibrate_style_weight`. Losses: mean of the last 50 iterations.\n\n"
        + markdown_table(["β", "weighted content loss", "weighted style loss"], rows))


if __name__ == "__main__":
    main()
