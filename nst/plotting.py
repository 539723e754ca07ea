"""Matplotlib helpers for notebooks and reports: image rows with colour scales, labelled grids, feature maps."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int | None = None,
                size: float = 2.6, cmap: str | None = None, colorbar: bool | str = False) -> Any:
    """Show images (H, W, 3 in [0, 1], or H, W for a colour map) in a grid; returns the figure.

    ``colorbar``: a colour scale beside each 2-D panel (``True``), or a label for it (a string).
    """
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = min(n, ncols or n)
    nrows = -(-n // ncols)
    width = size * ncols * (1.25 if colorbar else 1.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            im = np.asarray(images[k])
            shown = ax.imshow(np.clip(im, 0, 1) if im.ndim == 3 else im, cmap=cmap if im.ndim == 2 else None)
            if titles is not None:
                ax.set_title(titles[k], fontsize=9)
            if colorbar and im.ndim == 2:
                bar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
                if isinstance(colorbar, str):
                    bar.set_label(colorbar, fontsize=8)
                bar.ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def show_grid(rows: Sequence[Sequence[np.ndarray | None]], column_labels: Sequence[str] = (),
              row_labels: Sequence[str] = (), column_images: Sequence[np.ndarray | None] = (), cell: int = 192,
              width: float = 12.0, title: str | None = None) -> Any:
    """A labelled grid (`nst.io.images.labelled_grid`: labels over the columns and left of the rows,
    optional painting thumbnails over the columns) shown as one figure ``width`` inches wide."""
    import matplotlib.pyplot as plt

    from .io.images import labelled_grid

    grid = labelled_grid(rows, column_labels, row_labels, cell=cell, column_images=column_images)
    h, w = grid.shape[:2]
    fig, ax = plt.subplots(figsize=(width, width * h / w))
    ax.imshow(grid)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def feature_maps(features: np.ndarray, channels: Sequence[int]) -> list[np.ndarray]:
    """Chosen channels of one (1, H, W, C) activation, each scaled to [0, 1] for display."""
    f = np.asarray(features)[0]
    out = []
    for c in channels:
        m = f[..., c]
        out.append((m - m.min()) / max(float(m.max() - m.min()), 1e-8))
    return out


def recorded_run_time(notebook: str) -> str:
    """How long ``notebook`` (a file stem) ran top to bottom, as ``notebooks/execute.py`` recorded it
    in ``results/notebooks/timings.json``; a notebook's setup cell prints this line."""
    import json

    from .errors import NSTError
    from .io.files import find_project_dir

    try:
        path = find_project_dir() / "results" / "notebooks" / "timings.json"
        modes = json.loads(path.read_text()).get(notebook, {})
    except (NSTError, OSError, ValueError):
        modes = {}
    if not modes:
        return "run time: not recorded yet (python notebooks/execute.py records it)"
    parts = [f"{'full mode' if m == 'full' else 'quick mode (NST_QUICK=1)'} {v['seconds']:.0f} s ({v['date']})"
             for m, v in sorted(modes.items())]
    machine = next(iter(modes.values()))["machine"]
    return f"recorded run time on {machine}: " + ", ".join(parts)
