"""``nst demo``: stylize the evaluation photos with every available generation and write grids.

Gatys always runs (it needs no model); the Johnson and Dumoulin reference models
are taken from ``results/models/`` when present.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .io.files import find_data_dir, find_project_dir  # noqa: F401  (find_project_dir: deprecated home)
from .io.images import image_grid, load_image, save_image

DEMO_CONTENT = ("kodak_kodim23.jpg", "skimage_chelsea.jpg", "kodak_kodim21.jpg")
DEMO_STYLES = ("vangogh_starry_night.jpg", "hokusai_great_wave.jpg")
DEMO_SIZE = 192  # px, long side
DEMO_STEPS = 80  # Gatys L-BFGS steps




def run_demo(out_dir: Path, size: int = DEMO_SIZE, steps: int = DEMO_STEPS, verbose: bool = True) -> Path:
    """Gatys on 3 eval photos × 2 paintings; returns the grid's path."""
    from .methods.gatys import GatysConfig, gatys_transfer

    data = find_data_dir()
    contents = [load_image(data / "content" / "eval" / n, size=size) for n in DEMO_CONTENT]
    styles = [load_image(data / "styles" / n, size=size) for n in DEMO_STYLES]
    cfg = GatysConfig(size=size, steps=steps)
    rows = [[None] + styles]
    timings = []
    for ci, (cname, content) in enumerate(zip(DEMO_CONTENT, contents)):
        row = [content]
        for sname, style in zip(DEMO_STYLES, styles):
            t0 = time.perf_counter()
            res = gatys_transfer(content, style, config=cfg, verbose=False)
            timings.append(time.perf_counter() - t0)
            save_image(res.image, out_dir / f"gatys_{Path(cname).stem}_{Path(sname).stem}.png")
            row.append(res.image)
            if verbose:
                print(f"gatys  {Path(cname).stem:<22} × {Path(sname).stem:<22} {timings[-1]:6.1f} s  "
                      f"loss {res.history[0]:.3g} → {res.history[-1]:.3g}", flush=True)
        rows.append(row)
    grid_path = save_image(image_grid(rows, cell=size), out_dir / "demo_grid.png")
    if verbose:
        print(f"Gatys ({steps} L-BFGS steps at {size} px): median {np.median(timings):.1f} s per image")
        print(f"grid (rows: content photos; columns: styles) -> {grid_path}")
    _feedforward_demo(out_dir, contents, size, verbose)
    return grid_path


def _feedforward_demo(out_dir: Path, contents: list, size: int, verbose: bool) -> None:
    """The committed reference models: Johnson (one style each) and Dumoulin (all styles + a blend)."""
    from .interface.feedforward import load

    models_dir = find_project_dir() / "results" / "models"
    johnson = sorted(models_dir.glob("johnson_*.nst"))
    dumoulin = sorted(models_dir.glob("dumoulin_*.nst"))
    if not johnson and not dumoulin:
        if verbose:
            print(f"no reference models in {models_dir}: skipping the feedforward generations")
        return
    if johnson:
        rows = []
        for path in johnson:
            model = load(path)
            model.stylize(contents[0], style=0)  # compile once per shape before timing
            row, times = [], []
            for c in contents:
                t0 = time.perf_counter()
                row.append(model.stylize(c, style=0))
                times.append(time.perf_counter() - t0)
            rows.append(row)
            if verbose:
                print(f"johnson {path.stem:<30} {np.median(times) * 1000:7.0f} ms per image "
                      f"(median; includes compiling each new image shape)")
        p = save_image(image_grid([contents] + rows, cell=size), out_dir / "demo_johnson.png")
        if verbose:
            print(f"johnson grid (row 1: photos; then one row per model) -> {p}")
    for path in dumoulin:
        model = load(path)
        outs = model.stylize(contents[0], style=None)
        p = save_image(image_grid([[contents[0]] + [o.image for o in outs]], cell=size),
                       out_dir / f"demo_{path.stem}_styles.png")
        blends = [model.stylize(contents[0], style={0: 1 - t, 1: t}) for t in np.linspace(0, 1, 5)]
        q = save_image(image_grid([blends], cell=size), out_dir / f"demo_{path.stem}_blend.png")
        if verbose:
            print(f"dumoulin {path.stem}: {model.num_styles} styles ({', '.join(model.styles)}) -> {p}")
            print(f"dumoulin blend {model.styles[0]} -> {model.styles[1]} in 5 steps -> {q}")
