"""Progress reporting: a bar for Gatys optimisation, a Turi Create-style table for training."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """A tqdm bar showing step, loss and elapsed time; silent when ``enabled`` is False."""

    def __init__(self, total: int, desc: str, enabled: bool = True):
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, leave=True, file=sys.stderr)

    def update(self, **postfix: float) -> None:
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class ProgressTable:
    """``Iteration | Loss | Elapsed Time`` rows, as Turi Create prints while training.

    A row is printed for the first iteration, then whenever ``every_seconds``
    have passed, and for the last iteration.  The loss shown is an
    exponential moving average (0.9 · old + 0.1 · new), as in Turi Create.
    Extra columns (content / style loss) are shown when ``breakdown`` is True.
    """

    def __init__(self, total: int, every_seconds: float = 10.0, breakdown: bool = False, enabled: bool = True,
                 out: TextIO | None = None, start_iteration: int = 0, elapsed_offset: float = 0.0):
        self.total, self.every, self.breakdown, self.enabled = total, every_seconds, breakdown, enabled
        self.out = out or sys.stdout
        self.t0 = time.perf_counter() - elapsed_offset
        self.last_print = -float("inf")
        self.ema: dict[str, float] = {}
        self.start_iteration = start_iteration
        cols = ["Iteration", "Loss"] + (["Content", "Style"] if breakdown else []) + ["Elapsed Time"]
        self.widths = [max(12, len(c) + 2) for c in cols]
        self._rule = "+" + "+".join("-" * w for w in self.widths) + "+"
        if enabled:
            print(self._rule, file=self.out)
            print("|" + "|".join(f" {c:<{w - 1}}" for c, w in zip(cols, self.widths)) + "|", file=self.out)
            print(self._rule, file=self.out, flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def update(self, iteration: int, losses: dict[str, float]) -> None:
        for k, v in losses.items():
            self.ema[k] = v if k not in self.ema else 0.9 * self.ema[k] + 0.1 * v
        now = time.perf_counter()
        first = iteration == self.start_iteration + 1
        if self.enabled and (first or iteration == self.total or now - self.last_print >= self.every):
            self.last_print = now
            vals = [str(iteration), f"{self.ema['loss']:.4g}"]
            if self.breakdown:
                vals += [f"{self.ema.get('content', float('nan')):.4g}", f"{self.ema.get('style', float('nan')):.4g}"]
            vals.append(_fmt_time(self.elapsed()))
            print("|" + "|".join(f" {v:<{w - 1}}" for v, w in zip(vals, self.widths)) + "|", file=self.out, flush=True)

    def close(self) -> None:
        if self.enabled:
            print(self._rule, file=self.out, flush=True)


def _fmt_time(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
