"""On-device export: file sizes, onnxruntime agreement with JAX, and latency (issue: on-device export).

For each committed reference model (1-style Johnson, 8-style Dumoulin) and each precision, export
ONNX and Core ML with `nst.export`, record the file sizes next to the ``.nst`` file, the largest
|onnxruntime − JAX| over every style (and an even blend) at 97×131, 256×256 and 512×384, and the
warm median latency (compile / session creation separate) of onnxruntime and of JAX on the same
machine at each size.  Core ML is built and inspected, not run: that needs macOS.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.runner import ROOT, Experiment, markdown_table, register, save_figure, subplots

MODELS = {"johnson": "results/models/johnson_starry_night.nst", "dumoulin": "results/models/dumoulin_8styles.nst"}


def items(cfg: dict) -> list[dict]:
    return [{"id": f"{m}-{p}", "model": m, "precision": p} for m in cfg["models"] for p in ("float32", "float16")]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst import export as E
    from nst.io.timing import warm_median
    from nst.io.files import path_size

    src = ROOT / MODELS[item["model"]]
    model = cache.setdefault(item["model"], nst.load(src))
    row: dict = {"num_styles": model.num_styles, "nst_bytes": src.stat().st_size}
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = model.export(Path(tmp) / "m.onnx", precision=item["precision"])
        coreml_path = model.export(Path(tmp) / "m.mlpackage", precision=item["precision"])
        row["onnx_bytes"], row["coreml_bytes"] = path_size(onnx_path), path_size(coreml_path)
        checks = E.verify_onnx(model, onnx_path, sizes=[tuple(s) for s in cfg["verify_sizes"]])
        row["max_abs_diff"] = max(c["max_abs_diff"] for c in checks)
        row["cases"] = len(checks)
        row["verified_at"] = " ".join(f"{h}×{w}" for h, w in cfg["verify_sizes"])
        t0 = time.perf_counter()
        session = E.onnx_session(onnx_path)
        row["session_seconds"] = time.perf_counter() - t0
        weights = np.zeros(model.num_styles, np.float32)
        weights[0] = 1
        rng = np.random.default_rng(0)
        for s in cfg["latency_sizes"]:
            x = rng.random((1, s, s, 3), dtype=np.float32)
            row[f"onnx_ms_{s}"], row[f"onnx_first_ms_{s}"] = (
                1000 * t for t in warm_median(lambda: E.run_onnx(session, x, weights), cfg["repeats"]))
            if item["precision"] == "float32":  # the JAX model is the same for both precisions
                row[f"jax_ms_{s}"], row[f"jax_first_ms_{s}"] = (
                    1000 * t for t in warm_median(lambda: model.stylize_batch(x, weights[None]), cfg["repeats"]))
    return row


def plot(rows: list[dict], out: Path) -> list[Path]:
    sizes = sorted({int(k.rsplit("_", 1)[1]) for r in rows for k in r if k.startswith("onnx_ms_")})
    mb = lambda b: f"{float(b) / 1e6:.2f} MB"  # noqa: E731
    size_rows = [[r["model"], int(r["num_styles"]), r["precision"], mb(r["nst_bytes"]), mb(r["onnx_bytes"]),
                  mb(r["coreml_bytes"]), f"{r['max_abs_diff']:.1e} ({int(r['cases'])} cases)"] for r in rows]
    lat_rows = []
    for r in rows:
        jax_ref = next((x for x in rows if x["model"] == r["model"] and f"jax_ms_{sizes[0]}" in x
                        and x.get(f"jax_ms_{sizes[0]}") not in ("", None)), None)
        cells = []
        for s in sizes:
            o = float(r[f"onnx_ms_{s}"])
            j = float(jax_ref[f"jax_ms_{s}"]) if jax_ref else float("nan")
            cells.append(f"{o:.0f} / {j:.0f} ms ({o / j:.2f}×)")
        lat_rows.append([r["model"], r["precision"], *cells])
    md = out / "summary.md"
    md.write_text(
        "File sizes of the exported reference models next to the JAX model file, and the largest "
        "absolute difference between onnxruntime and JAX outputs on the [0, 1] scale over every style "
        f"and an even blend at {rows[0]['verified_at']}.\n\n"
        + markdown_table(["model", "styles", "precision", ".nst (JAX)", "ONNX", "Core ML (.mlpackage)",
                          "max abs. diff. ONNX vs JAX"], size_rows)
        + "\n\nWarm median latency, one image, onnxruntime CPU / JAX (XLA:CPU) on the same machine "
          "(ratio < 1: onnxruntime faster).\n\n"
        + markdown_table(["model", "ONNX precision", *[f"{s}×{s}" for s in sizes]], lat_rows))
    fig, ax = subplots(figsize=(5.5, 3.5), dpi=100)
    for r in rows:
        if r["precision"] != "float32":
            continue
        ax.plot(sizes, [float(r[f"onnx_ms_{s}"]) for s in sizes], "o-", label=f"onnxruntime, {r['model']}")
        ax.plot(sizes, [float(r[f"jax_ms_{s}"]) for s in sizes], "s--", label=f"JAX, {r['model']}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("image side (px)")
    ax.set_ylabel("latency per image (ms)")
    ax.set_title("Exported network: onnxruntime vs JAX (CPU)")
    ax.legend(fontsize=7)
    return [md, save_figure(fig, out / "latency.png")]


def reads(cfg: dict) -> list[str]:
    return list(MODELS.values())


EXPERIMENT = register(Experiment(
    name="export",
    description="ONNX/Core ML export of the reference models: sizes, agreement with JAX, latency",
    presets={"quick": {"models": ["johnson"], "verify_sizes": [[97, 131]], "latency_sizes": [64], "repeats": 2},
             "cpu": {"models": ["johnson", "dumoulin"], "verify_sizes": [[97, 131], [256, 256], [512, 384]],
                     "latency_sizes": [256, 512, 1024], "repeats": 5},
             "gpu": {"models": ["johnson", "dumoulin"], "verify_sizes": [[97, 131], [256, 256], [512, 384]],
                     "latency_sizes": [256, 512, 1024], "repeats": 5}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
