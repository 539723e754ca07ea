"""The loss history of a training run, as CSV and a plot next to the model."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from ...io.files import atomic_path, atomic_write


def write_history_csv(history: np.ndarray, path: str | os.PathLike) -> Path:
    """The loss history beside the model ``path`` as ``MODEL.loss.csv`` alone (iteration, loss, content, style, TV)."""
    csv_path = Path(path).with_suffix(".loss.csv")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["iteration", "loss", "content", "style", "tv"])
    for row in history:
        w.writerow([int(row[0])] + [f"{v:.6g}" for v in row[1:]])
    with atomic_write(csv_path, "w") as f:
        f.write(buf.getvalue())
    return csv_path


def write_history(history: np.ndarray, path: str | os.PathLike, title: str = "") -> tuple[Path, Path]:
    """Loss history as CSV (`write_history_csv`) and a PNG plot (log-scale loss against iteration)."""
    path = Path(path)
    csv_path, png_path = write_history_csv(history, path), path.with_suffix(".loss.png")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if len(history):
        for col, name in ((1, "total"), (2, "content (weighted)"), (3, "style (weighted)")):
            ax.plot(history[:, 0], history[:, col], label=name, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (log scale)")
    ax.set_title(title or path.stem)
    ax.legend()
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return csv_path, png_path


def read_history(path: str | os.PathLike) -> np.ndarray:
    """The loss history `write_history` wrote beside the model ``path`` (``MODEL.loss.csv``): an (N, 5)
    array of iteration, loss, content, style, TV, as `FeedforwardStylizer.history` holds it."""
    return np.loadtxt(Path(path).with_suffix(".loss.csv"), delimiter=",", skiprows=1, ndmin=2)
