"""Loss-curve helpers shared by experiments and reports: a moving average, the first crossing of a level."""

from __future__ import annotations

import numpy as np


def smooth(y: np.ndarray, k: int = 50) -> np.ndarray:
    """Trailing moving average over up to k iterations (fewer at the start)."""
    c = np.cumsum(np.insert(y, 0, 0.0))
    i = np.arange(1, len(y) + 1)
    lo = np.maximum(0, i - k)
    return (c[i] - c[lo]) / (i - lo)


def first_below(it: np.ndarray, y: np.ndarray, level: float) -> int | None:
    idx = np.nonzero(y <= level)[0]
    return int(it[idx[0]]) if len(idx) else None
