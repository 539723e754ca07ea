"""Report: a new style by fine-tuning γ/β only, against a network trained from scratch.

    python -m experiments.scripts.add_style_report [--dir results/add_style]

Reads the loss histories written by ``nst train`` (``*.loss.csv``) for
``dumoulin_9styles`` (``nst train --add-style munch_the_scream.jpg --from dumoulin_8styles.nst``:
only the new style's 3,206 γ/β parameters train) and ``scratch_scream`` (``nst train --method
johnson`` on the same style, same batch size 8, all 1.68M parameters train), and writes
``summary.md`` and ``loss_vs_iterations.png``: the total training loss against iterations, and the
iterations each run needs to reach given loss levels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from experiments.curves import first_below, smooth

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=ROOT / "results" / "add_style")
    args = ap.parse_args()
    runs = {"γ/β fine-tuning (add_style)": "dumoulin_9styles", "from scratch (all parameters)": "scratch_scream"}
    data = {}
    for label, stem in runs.items():
        h = np.genfromtxt(args.dir / f"{stem}.loss.csv", delimiter=",", names=True)
        data[label] = (h["iteration"], smooth(h["loss"]))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=110)
    for label, (it, y) in data.items():
        ax.plot(it, y, label=label, lw=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("iteration (batch 8, 256 px)")
    ax.set_ylabel("training loss, 50-iteration moving average")
    ax.set_title("New style (The Scream): fine-tune γ/β vs train from scratch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.dir / "loss_vs_iterations.png")
    ft_it, ft = data["γ/β fine-tuning (add_style)"]
    sc_it, sc = data["from scratch (all parameters)"]
    final_sc = float(sc[-1])
    lines = ["Command: `python -m experiments.scripts.add_style_report` (reads the loss CSVs written by `nst train` in "
             "`experiments/scripts/gpu_reference_run.sh`; NVIDIA H100, JAX 0.11.2; 40 s time limit per run).", "",
             "| run | trainable parameters | iterations done | final loss (50-it. average) |", "|---|---|---|---|",
             f"| γ/β fine-tuning (add_style) | 3,206 | {int(ft_it[-1])} | {ft[-1]:.4g} |",
             f"| from scratch | 1,677,638 | {int(sc_it[-1])} | {sc[-1]:.4g} |", "",
             "| loss level | iterations, fine-tuning | iterations, from scratch |", "|---|---|---|"]
    for level in (2 * final_sc, 1.5 * final_sc, 1.2 * final_sc, final_sc):
        a, b = first_below(ft_it, ft, level), first_below(sc_it, sc, level)
        lines.append(f"| {level:.4g} | {a if a is not None else 'not reached'} | {b if b is not None else 'not reached'} |")
    (args.dir / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
