"""Matplotlib helpers for notebooks and reports: image rows, feature maps, Gram matrices."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int | None = None,
                size: float = 2.6, cmap: str | None = None) -> Any:
    """Show images (H, W, 3 in [0, 1], or H, W for a colour map) in a grid; returns the figure."""
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = min(n, ncols or n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            im = np.asarray(images[k])
            ax.imshow(np.clip(im, 0, 1) if im.ndim == 3 else im, cmap=cmap if im.ndim == 2 else None)
            if titles is not None:
                ax.set_title(titles[k], fontsize=9)
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
