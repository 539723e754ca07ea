"""Trained from scratch with relu4_1 added: does the full-length run reach Gatys' style at Gatys' SSIM?

`style_balance` and `style_length` fine-tune the committed Johnson models on the CPU; adding relu4_1
(the evaluator's dominant style layer) to the default recipe bought the most style for the SSIM it
cost.  This experiment scores the networks one GPU call trained *from scratch* with that loss
(``experiments/scripts/gpu_reference_run.sh`` with ``RECIPE=dumoulin2017 TV=1e7
STYLE_LAYERS=relu1_2,relu2_2,relu3_3,relu4_3,relu4_1 STYLE_LAYER_WEIGHTS=1e-4,1e-4,1e-4,1e-4,W``; the
call and its log: ``results/models/scratch_relu4_1/gpu_run.txt``), one folder per W, against the
committed reference model (the same recipe without relu4_1) and a Gatys result on the same photos
(default settings, ``gatys_steps`` L-BFGS steps).  Scoring is `recipe_study`'s: the fixed evaluator,
overall and per VGG layer, on evaluation photos and on training photos.
"""

from __future__ import annotations

from pathlib import Path

from experiments.provenance import reference_model
from experiments.registered import recipe_study
from experiments.runner import ROOT, Experiment, markdown_table, read_rows, register, save_figure, subplots

MODELS_DIR = Path("results/models/scratch_relu4_1")
INTRO = ("Each `scratch+relu4_1:W` network was trained from scratch on a GPU with the default recipe plus relu4_1 "
         "at w_ℓ = W (γ = 1e7 from the start, batch 4, 256-px crops, stopped by the call's time limit: iterations "
         "below); `reference` is the committed model, trained the same way without relu4_1. `style bought per "
         "SSIM`: −Δlog10(style loss) ÷ −ΔSSIM against the reference model.")


def model_path(model: str, folder: str, models_dir: Path = MODELS_DIR) -> Path:
    return ROOT / models_dir / folder / f"{model}.nst"


def variant_folders(cfg: dict, model: str) -> dict[str, str]:
    """The variants ``model`` has, with their folders: ``cfg["variants"]`` maps a variant to its folder
    (every model has it) or to ``[folder, models, ...]`` (only those models have it)."""
    out = {}
    for variant, spec in cfg["variants"].items():
        folder, models = (spec, None) if isinstance(spec, str) else (spec[0], spec[1])
        if models is None or model in models:
            out[variant] = folder
    return out


def items(cfg: dict) -> list[dict]:
    out = []
    for model in cfg["models"]:
        out.append({"id": f"{model}/gatys", "model": model, "variant": "gatys"})
        out.append({"id": f"{model}/reference", "model": model, "variant": "reference"})
        out += [{"id": f"{model}/{v}", "model": model, "variant": v, "folder": folder}
                for v, folder in variant_folders(cfg, model).items()]
    return out


def gpu_network_row(item: dict, cfg: dict, cache: dict, path: Path) -> dict:
    """The network a GPU call trained (``path``, its loss CSV beside it) scored as `recipe_study` scores its
    variants, with how it was trained from its metadata."""
    import nst
    from nst.methods.training import read_history

    if not path.exists():  # checked before the evaluator is built
        raise FileNotFoundError(f"{path} is not in the checkout (files over 8 MB are not committed; its loss CSV "
                                f"and .meta.json are): train it again as {path.parent.parent / 'gpu_run.txt'} records")
    _, style_path = recipe_study.reference_and_style(item, cache)
    model = nst.load(path)
    if model.styles != [style_path.stem]:
        raise ValueError(f"{path} was trained on {model.styles}, not {style_path.stem}")
    model.history = read_history(path)  # a loaded model carries none: training wrote it beside the model
    t = model.meta["training"]
    name = f"{item['model']}_{recipe_study.slug(item['variant'])}"
    return {**recipe_study.model_row(model, name, cfg, cache, style_path), **recipe_study.training_columns(model),
            "iterations": model.meta["iterations"], "batch_size": t["batch_size"], "backend": model.meta["backend"],
            "width": model.meta["network"]["width"], "style_layers": " ".join(t["style_layers"]),
            "style_layer_weights": " ".join(f"{w:g}" for w in t["style_layer_weights"])}


def run_item(item: dict, cfg: dict, cache: dict, models_dir: Path = MODELS_DIR) -> dict:
    if "folder" not in item:  # the Gatys baseline and the committed model, as recipe_study scores them
        return recipe_study.run_item(item, cfg, cache)
    return gpu_network_row(item, cfg, cache, model_path(item["model"], item["folder"], models_dir))


#: the CPU fine-tunes of the same models whose committed rows the trade-off figure shows beside this run's
EARLIER = {"style_balance": "CPU fine-tunes, 150 iterations (style_balance)",
           "style_length": "CPU fine-tune continued, relu4_1 3e-5 (style_length)"}


def trade_off(rows: list[dict], out: Path, earlier: dict[str, str] = EARLIER) -> Path | None:
    """Style ÷ Gatys against SSIM for every network variant measured on these photos: this run's and the
    ``earlier`` experiments' (their committed ``raw.csv``, each ratio against its own run's Gatys row)."""
    sources = {"trained on a GPU (this run)": rows}
    for name, label in earlier.items():
        path = ROOT / "results" / name / "raw.csv"
        if path.exists():
            sources[label] = read_rows(path)
    if len(sources) > 5:  # one marker and colour each, below
        raise ValueError(f"{len(sources)} sources for the trade-off figure; it draws at most 5")
    models = sorted({r["model"] for r in rows if r["variant"] == "gatys"})
    if not models:
        return None
    fig, axes = subplots(1, len(models), figsize=(5.2 * len(models) + 2.6, 4.0), dpi=100, squeeze=False)
    for k, (ax, model) in enumerate(zip(axes[0], models)):
        for (label, rs), marker, color in zip(sources.items(), "o^svP", ("tab:blue", "tab:orange", "tab:green",
                                                                         "tab:purple", "tab:brown")):
            mine = [r for r in rs if r["model"] == model]
            gatys = next((r for r in mine if r["variant"] == "gatys"), None)
            if gatys is None:
                continue
            # style_balance's magenta rows train under Magenta's average pooling and land far above this
            # chart's range (its own summary has them): the chart is the max-pooling networks' trade-off
            pts = [r for r in mine if r["variant"] not in ("gatys", "reference")
                   and not r["variant"].startswith("magenta")]
            ax.scatter([float(r["eval_ssim"]) for r in pts],
                       [float(r["eval_style"]) / float(gatys["eval_style"]) for r in pts], marker=marker, color=color,
                       label=label)
            if rs is rows:
                for j, r in enumerate(pts):  # alternate above and below, so close points keep their labels apart
                    ax.annotate(r["variant"].removeprefix("scratch+"), (float(r["eval_ssim"]),
                                float(r["eval_style"]) / float(gatys["eval_style"])), fontsize=7,
                                xytext=(4, 4 if j % 2 == 0 else -10), textcoords="offset points")
                ref = next(r for r in mine if r["variant"] == "reference")
                ax.scatter([float(ref["eval_ssim"])], [float(ref["eval_style"]) / float(gatys["eval_style"])],
                           marker="D", color="k", label="reference model")
                ax.scatter([float(gatys["eval_ssim"])], [1.0], marker="*", s=120, color="tab:red", label="Gatys")
                ax.axhline(3.0, color="0.5", ls="--", lw=0.8)
                ax.axvline(float(gatys["eval_ssim"]), color="0.5", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_yticks([1, 2, 3, 4, 6, 8, 12], minor=False)
        ax.set_yticks([], minor=True)
        ax.set_yticklabels(["1", "2", "3", "4", "6", "8", "12"])
        ax.set_xlabel("SSIM to the photo")
        ax.set_ylabel("style loss ÷ Gatys'")
        ax.set_title(f"{model}\n(target: below the dashed line, right of the dotted one)", fontsize=9)
        if k == len(models) - 1:
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return save_figure(fig, out / "trade_off.png")


def plot_gpu_run(rows: list[dict], out: Path, intro: str, name: str, models_dir: Path,
                 earlier: dict[str, str]) -> list[Path]:
    """`recipe_study`'s tables and sheets, the trade-off figure against the ``earlier`` runs, and how each
    network was trained (from its metadata; ``models_dir`` holds the GPU call's record)."""
    written = recipe_study.plot(rows, out, intro, name, control="reference", seconds_label="training s")
    figure = trade_off(rows, out, earlier)
    if figure is not None:
        written.append(figure)
        cited = ", ".join(f"`results/{e}`" for e in earlier)
        with written[0].open("a") as f:
            f.write("\n## Every variant against Gatys\n\nStyle loss as a multiple of Gatys' against SSIM, for this "
                    f"run's networks and for earlier variants of the same models on the same photos ({cited}, "
                    "read from their committed `raw.csv`):\n\n"
                    "![style ÷ Gatys against SSIM, every variant](trade_off.png)\n")
    trained = [r for r in rows if r.get("iterations") not in (None, "")]
    if trained:
        md = ["\n## How each network was trained\n",
              "From the model files' metadata (the GPU call's record: "
              f"`{models_dir.as_posix()}/gpu_run.txt`).\n",
              markdown_table(["model", "variant", "iterations", "batch", "backend", "width", "style layers (w_ℓ)",
                              "training s"],
                             [[r["model"], r["variant"], str(int(float(r["iterations"]))), str(int(float(r["batch_size"]))),
                               r["backend"], f"{float(r['width']):g}" if r.get("width") not in (None, "") else "1",
                               ", ".join(f"{n} ({w})" for n, w in zip(r["style_layers"].split(),
                                                                     r["style_layer_weights"].split())),
                               f"{float(r['train_seconds']):.0f}"] for r in trained])]
        with written[0].open("a") as f:
            f.write("\n".join(md) + "\n")
    return written


def plot(rows: list[dict], out: Path) -> list[Path]:
    return plot_gpu_run(rows, out, INTRO, "scratch_relu4_1", MODELS_DIR, EARLIER)


PHOTOS = ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08"]
VARIANTS = {"scratch+relu4_1:1e-5": "w1e-5", "scratch+relu4_1:3e-5": "w3e-5"}


def reads(cfg: dict, models_dir: Path = MODELS_DIR, earlier: dict[str, str] = EARLIER) -> list[str]:
    """The reference networks, the GPU-trained variants, and the pages the trade-off figure draws beside them."""
    return [*(reference_model(m) for m in cfg["models"]),
            *(str(models_dir / folder / f"{m}.nst") for m in cfg["models"] for folder in variant_folders(cfg, m).values()),
            *(f"results/{name}" for name in earlier)]


EXPERIMENT = register(Experiment(
    name="scratch_relu4_1",
    description="Johnson networks trained from scratch on a GPU with relu4_1 added, against Gatys and the reference",
    presets={"quick": {"models": ["johnson_great_wave"], "variants": {"scratch+relu4_1:1e-5": "w1e-5"},
                       "eval_photos": ["skimage_chelsea"], "train_photos": 1, "eval_size": 64, "gatys_steps": 2},
             "cpu": {"models": ["johnson_starry_night", "johnson_great_wave"], "variants": VARIANTS,
                     "eval_photos": PHOTOS, "train_photos": 4, "eval_size": 256, "gatys_steps": 300},
             "gpu": {"models": ["johnson_starry_night", "johnson_great_wave"], "variants": VARIANTS,
                     "eval_photos": PHOTOS, "train_photos": 8, "eval_size": 512, "gatys_steps": 300}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
