"""The headline table: quality and speed per generation, assembled from committed experiment runs.

    python -m experiments.scripts.headline [--out results/headline.md]

Reads only saved data — ``results/speed``, ``results/export``, ``results/quality_vs_time``,
``results/fidelity``, ``results/fig5_ratio``, ``results/many_styles`` raw CSVs (and fig5_ratio's snapshots) and the
reference model files — so every number traces back to a
committed run (each cell says which).  Nothing is measured here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


from experiments.runner import ROOT, markdown_table, read_rows  # noqa: E402

MODELS = {"johnson": "results/models/johnson_starry_night.nst", "dumoulin": "results/models/dumoulin_8styles.nst"}


def _same(a: object, b: object) -> bool:
    try:
        return float(a) == float(b)  # CSV numbers come back as floats
    except (TypeError, ValueError):
        return str(a) == str(b)


def _by(rows: list[dict], **match: object) -> dict | None:
    return next((r for r in rows if all(_same(r.get(k), v) for k, v in match.items())), None)


def fidelity_rows(results: Path) -> list[list[str]]:
    """Issue #13's ratio and SSIM per generation (``results/fidelity``), and the ratio of the Fig. 5 baseline's own
    image at Johnson et al.'s 50 and 100 iterations (``results/fig5_ratio``, its main start)."""
    from experiments.registered import fidelity, fig5_ratio

    recs = [r for r in fidelity.per_style(read_rows(results / "fidelity" / "raw.csv")) if "ratio" in r]

    def ratio_cell(kind: str) -> str:
        ratios = [r["ratio"] for r in recs if r["model"].startswith(kind)]
        return f"{statistics.median(ratios):.2f} [{max(ratios):.2f}]" if ratios else "—"

    def ssim_cell(kind: str, key: str = "ff_ssim") -> str:
        vals = [r[key] for r in recs if r["model"].startswith(kind)]
        return f"{statistics.mean(vals):.3f}" if vals else "—"

    curves = [r for r in fig5_ratio.per_style(read_rows(results / "fig5_ratio" / "raw.csv"), results / "fig5_ratio")
              if not r["start"]]
    at = [statistics.median(fig5_ratio.at_iteration(r, "ratio", k) for r in curves) for k in fig5_ratio.FIG5_RANGE]
    return [
        ["issue #13's ratio: style loss on the evaluator ÷ a 300-step Gatys result's on the same photos, 256 px, "
         f"median [worst] over styles (results/fidelity; targets ≤ {fidelity.MEDIAN_RATIO_MAX:g} [≤ "
         f"{fidelity.STYLE_RATIO_MAX:g}])", "1 (the baseline)", ratio_cell("johnson"), ratio_cell("dumoulin")],
        ["… SSIM to the photo, mean over the same styles (target: at least Gatys' on the same photos)",
         f"{ssim_cell('dumoulin', 'gatys_ssim')} ({ssim_cell('johnson', 'gatys_ssim')} on the Johnson networks' paintings)",
         ssim_cell("johnson"), ssim_cell("dumoulin")],
        [f"… the Fig. 5 baseline's own image after {' / '.join(map(str, fig5_ratio.FIG5_RANGE))} iterations on the "
         f"networks' objective (neural-style's protocol), median over {len(curves)} paintings (results/fig5_ratio)",
         " / ".join(f"{v:.2f}" for v in at), "—", "—"],
    ]


def headline(results: Path) -> str:
    import nst

    speed = read_rows(results / "speed" / "raw.csv")
    export = read_rows(results / "export" / "raw.csv")
    qvt = read_rows(results / "quality_vs_time" / "raw.csv")
    sizes = read_rows(results / "many_styles" / "raw.csv")
    machine = json.loads((results / "speed" / "run.json").read_text())
    models = {k: nst.load(ROOT / v) for k, v in MODELS.items()}

    def time_cell(method: str, size: int) -> str:
        if method == "gatys":
            r = _by(speed, method="gatys", size=size)
            return f"{float(r['seconds']):.0f} s" if r else "—"
        r = _by(export, model=method, precision="float32")
        return f"{float(r[f'jax_ms_{size}']):.0f} ms" if r and r.get(f"jax_ms_{size}") not in (None, "") else "—"

    def onnx_cell(method: str, size: int) -> str:
        r = _by(export, model=method, precision="float32")
        return f"{float(r[f'onnx_ms_{size}']):.0f} ms" if r else "—"

    from nst.methods.gatys import GatysConfig

    default_memory = GatysConfig().lbfgs_memory

    default_linesearch = GatysConfig().linesearch

    def of(obj: str, init: str = "content", memory: int = default_memory,
           linesearch: str = default_linesearch) -> list[dict]:
        # unseen photos at the preset's 256 px: the training-photo and 512-px rows are quality_vs_time's own;
        # ``memory``, ``linesearch``: the L-BFGS settings (rows without them kept GatysConfig's defaults)
        return [r for r in qvt if (r.get("objective") or "gatys") == obj and (r.get("init") or "content") == init
                and not r.get("split") and not r.get("size") and r.get("kind") != "pass"
                and int(r.get("lbfgs_memory") or default_memory) == memory
                and (r.get("linesearch") or default_linesearch) == linesearch]

    def objective(col: str, obj: str = "gatys") -> str:
        vals = [float(r[col]) for r in of(obj) if r.get(col) not in (None, "")]
        return f"{statistics.mean(vals):.3g}" if vals else "—"

    def equiv(col: str, obj: str = "gatys", init: str = "content", memory: int = default_memory,
              linesearch: str = default_linesearch) -> str:
        vals = [int(float(r[col])) for r in of(obj, init, memory, linesearch) if r.get(col) not in (None, "")]
        if not vals:
            return "—"
        text = lambda v: str(v) if v > 0 else "more than all"  # noqa: E731 - -1: never matched
        return f"{text(min(vals))}–{text(max(vals))}" if min(vals) != max(vals) else text(vals[0])

    per_style = _by(sizes, id="size-8")

    def training_cell(meta: dict) -> str:
        from nst.methods.training import training_stages

        return " + ".join(f"{m['iterations']:,} it. in {m['training_seconds']:.0f} s ({m.get('backend', '?')})"
                          for m in training_stages(meta))

    train_cfg = models["johnson"].meta["training"]
    rows = [
        ["time per image, 256 px (CPU)", "{} (500 L-BFGS steps)".format(time_cell("gatys", 256)),
         time_cell("johnson", 256), time_cell("dumoulin", 256)],
        ["time per image, 512 px (CPU)", "{} (500 steps)".format(time_cell("gatys", 512)), time_cell("johnson", 512),
         time_cell("dumoulin", 512)],
        ["time per image, 1024 px (CPU)", "{} (500 steps)".format(time_cell("gatys", 1024)),
         time_cell("johnson", 1024), time_cell("dumoulin", 1024)],
        ["exported ONNX, onnxruntime, 512 px (CPU)", "—", onnx_cell("johnson", 512), onnx_cell("dumoulin", 512)],
        ["Gatys objective at 256 px (mean of 4 photo×style pairs; lower is better)",
         f"{objective('gatys_final')} (after 300 steps)", objective("johnson_objective"),
         objective("dumoulin_objective")],
        ["worth this many Gatys L-BFGS steps on that objective (Gatys from the photo)", "—", equiv("johnson_equivalent_iterations"),
         equiv("dumoulin_equivalent_iterations")],
        ["… on the networks' own training objective ("
         f"{', '.join(train_cfg['content_layers'])} / {', '.join(train_cfg['style_layers'])}, "
         f"recipe {train_cfg.get('recipe') or 'custom'}, γ = {train_cfg['tv_weight']:g})", "—",
         equiv("johnson_equivalent_iterations", "training"), equiv("dumoulin_equivalent_iterations", "training")],
        ["… the same, Gatys started from white noise (Johnson et al.'s Fig. 5 baseline; they report 50–100)", "—",
         equiv("johnson_equivalent_iterations", "training", "noise"),
         equiv("dumoulin_equivalent_iterations", "training", "noise")],
        ["… the same, Gatys run as Johnson's own code, neural-style, runs it (near-grey random start, "
         "torch's L-BFGS: 100 pairs of history, unit steps without a line search)", "—",
         equiv("johnson_equivalent_iterations", "training", "mean_pixel_noise", 100, "none"),
         equiv("dumoulin_equivalent_iterations", "training", "mean_pixel_noise", 100, "none")],
        *fidelity_rows(results),
        ["styles per model", "any (no training)", "1", str(models["dumoulin"].num_styles)],
        ["parameters per style", "—", f"{models['johnson'].parameter_counts()['total']:,}",
         f"{int(per_style['per_style']):,}" if per_style else "—"],
        ["training (reference models; backend in brackets)", "none",
         training_cell(models["johnson"].meta), training_cell(models["dumoulin"].meta)
         + f" ({models['dumoulin'].num_styles} styles)"],
    ]
    return ("Headline: quality and speed per generation. CPU numbers: "
            f"{machine['cpu']}, {machine['cores']} cores, JAX {machine['jax']} "
            "(Gatys times: results/speed, 500 × the median warm step; feedforward times: results/export, "
            "warm median of one JAX forward pass; objective: results/quality_vs_time; ratio to Gatys: results/fidelity "
            "and results/fig5_ratio; sizes: results/many_styles; "
            "regenerate with `python -m experiments.scripts.headline`).\n\n"
            + markdown_table(["", "Gatys (old way)", "Johnson (feedforward)", "Dumoulin (new way)"], rows) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="assemble results/headline.md from committed runs")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "headline.md")
    args = ap.parse_args(argv)
    text = headline(ROOT / "results")
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
