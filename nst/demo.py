"""``nst demo``: stylize the evaluation photos with every available generation and write a grid."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .errors import NSTError
from .images import image_grid, load_image, save_image

DEMO_CONTENT = ("kodak_kodim23.jpg", "skimage_chelsea.jpg", "kodak_kodim21.jpg")
DEMO_STYLES = ("vangogh_starry_night.jpg", "hokusai_great_wave.jpg")


def find_data_dir() -> Path:
    """``data/`` of the source checkout (the demo runs from a clone)."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (base / "data" / "content" / "eval").is_dir() and (base / "data" / "styles").is_dir():
            return base / "data"
    raise NSTError("cannot find data/content/eval and data/styles; run nst demo from the project checkout")


def run_demo(out_dir: Path, size: int = 192, steps: int = 80, verbose: bool = True) -> Path:
    """Gatys on 3 eval photos × 2 paintings; returns the grid's path."""
    from .gatys import GatysConfig, gatys_transfer

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
    return grid_path
