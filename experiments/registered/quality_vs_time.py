"""Experiment 1 — quality versus time (Johnson et al. 2016, Fig. 5 analogue).

For each (eval photo, style): the Gatys objective after every L-BFGS step, against iterations and
against warm wall time, with horizontal lines where the Johnson and Dumoulin reference models'
outputs land on the *same* objective (`nst.methods.gatys.gatys_loss`).  The "equivalent Gatys iterations"
of a feedforward model is the first iteration at which Gatys does at least as well.

Starts for Gatys: the content photo (our default), uniform white noise (``noise_objectives``: Gatys
et al.'s own start), and further named starts (``more_starts``): ``mean_pixel_noise`` is the random
start of Johnson's ``neural-style`` (the ImageNet mean colour with faint noise), the published code
closest to the baseline of Johnson et al.'s Fig. 5, which compares their networks with an
optimisation-based baseline started from "white noise" on the networks' own objective.

Two objectives (``objectives`` in the preset): ``gatys`` — the Gatys defaults (content relu4_2,
style relu1_1…relu5_1, β = 1e-3); ``training`` — the objective the reference networks were trained
on, read from the Johnson model's metadata (layers, per-layer weights, γ, pooling: today the
``dumoulin2017`` recipe with γ = 1e7), which
is the comparison Johnson et al.'s Fig. 5 makes.  A third, ``training_reflect`` (``reflect_starts``), is the
training objective with a loss network that mirrors each map at every conv instead of padding zeros
(`nst.core.vgg`): the objective `train_border`'s ``bordered_reflect`` fine-tunes were trained on, so that
their passes (``more_networks`` entries with ``"objective": "training_reflect"``) are read off curves of
their own objective.
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

import numpy as np

from experiments.runner import ROOT, Experiment, markdown_table, register, run_config, save_figure, subplots

MODELS = {"johnson": {"vangogh_starry_night": "results/models/johnson_starry_night.nst",
                      "hokusai_great_wave": "results/models/johnson_great_wave.nst"},
          "dumoulin": "results/models/dumoulin_8styles.nst"}
REFLECT = "training_reflect"  # the training objective on a loss network that reflects (vgg_padding="reflect")


def items(cfg: dict) -> list[dict]:
    """One item per (objective, start, photo, style); the content start keeps the ids of earlier runs."""
    out = [{"id": f"{c}-{s}" + ("" if o == "gatys" else f"-{o}"), "content": c, "style": s, "objective": o,
            "init": "content"}
           for o in cfg.get("objectives", ["gatys"]) for c in cfg["contents"] for s in cfg["styles"]]
    out += [{"id": f"{c}-{s}-{o}-noise", "content": c, "style": s, "objective": o, "init": "noise"}
            for o in cfg.get("noise_objectives", []) for c in cfg.get("noise_contents", cfg["contents"])
            for s in cfg["styles"]]
    # the same on photos the networks were trained on: the per-photo Gatys curve takes out how hard each
    # photo is, so more equivalent iterations there than on unseen photos is what the networks owe to
    # having seen them (the generalisation gap more training photos would close)
    out += [{"id": f"{c}-{s}-{o}-noise", "content": c, "style": s, "objective": o, "init": "noise",
             "split": "train"}
            for o in cfg.get("noise_objectives", []) for c in cfg.get("train_contents", []) for s in cfg["styles"]]
    # Johnson et al.'s Fig. 5 repeats the comparison at 512 and 1024 px with the networks trained at 256:
    # the noise start on the networks' own objective at each larger size
    out += [{"id": f"{c}-{s}-{o}-noise-{px}px", "content": c, "style": s, "objective": o, "init": "noise",
             "size": px}
            for px in cfg.get("larger_sizes", []) for o in cfg.get("noise_objectives", [])
            for c in cfg["contents"] for s in cfg["styles"]]
    # further baselines (``more_starts``: a start, and optionally an L-BFGS history length and line search)
    # on the unseen photos, at the base size and each larger one; e.g. neural-style's near-grey random start
    # (``mean_pixel_noise``) alone, then with the 100 pairs of history torch's optim.lbfgs keeps, then
    # with torch's L-BFGS as a whole (``linesearch="none"``): neural-style, the published code closest to
    # Johnson et al.'s baseline
    starts = [(start, cfg.get("noise_objectives", [])) for start in cfg.get("more_starts", [])]
    # the same starts on the training objective with a reflecting loss network (``reflect_starts``)
    starts += [(start, [REFLECT]) for start in cfg.get("reflect_starts", [])]
    for start, objectives in starts:
        init, memory, linesearch = start["init"], start.get("lbfgs_memory"), start.get("linesearch")
        tag = init + (f"-memory{memory}" if memory else "") + (f"-linesearch_{linesearch}" if linesearch else "")
        extra = {**({"lbfgs_memory": memory} if memory else {}), **({"linesearch": linesearch} if linesearch else {})}
        out += [{"id": f"{c}-{s}-{o}-{tag}", "content": c, "style": s, "objective": o, "init": init, **extra}
                for o in objectives for c in cfg.get("noise_contents", cfg["contents"]) for s in cfg["styles"]]
        out += [{"id": f"{c}-{s}-{o}-{tag}-{px}px", "content": c, "style": s, "objective": o, "init": init,
                 "size": px, **extra}
                for px in cfg.get("larger_sizes", []) for o in objectives
                for c in cfg["contents"] for s in cfg["styles"]]
    # other networks of the same objective (``more_networks``, e.g. one trained for longer), or a committed
    # network stylized with another border (``border``: 0 is the bare network, the computation it was trained
    # in), read off the noise-start curves already run on unseen photos: one pass each, no new L-BFGS run.
    # An entry with an ``objective`` is read off that objective's curves only, one without off all but REFLECT's
    for net in cfg.get("more_networks", []):
        out += [{**{k: v for k, v in curve.items() if k != "id"}, "id": f"{curve['id']}-pass-{net['label']}",
                 "kind": "pass", "network": net["label"], "curve": curve["id"],
                 "compare": net.get("compare", "johnson"), "border": stylize_border_label(net)}
                for curve in list(out) if curve["init"] != "content" and curve["style"] == net["style"]
                and not curve.get("split") and curve.get("kind") != "pass"
                and (curve["objective"] == net["objective"] if net.get("objective")
                     else curve["objective"] != REFLECT)]
    return out


def objective_overrides(objective: str, cache: dict, size: int = 256) -> dict:
    """GatysConfig overrides that define the objective at an output of ``size`` px (empty for the Gatys defaults).

    The training objective includes the style image's size: the networks learned Grams of the painting at
    the metadata's ``style_size`` (a 256-px long side), whatever the output size, so at a larger output
    the style keeps that size (``style_scale`` = style size ÷ output size; 1 at 256 px).
    """
    if objective == "gatys":
        return {}
    import nst

    path = next(iter(MODELS["johnson"].values()))
    model = cache.setdefault(path, nst.load(ROOT / path))
    overrides = training_objective(model.meta["training"], size, path)
    return {**overrides, "vgg_padding": "reflect"} if objective == REFLECT else overrides


def training_objective(t: dict, size: int, path: str, style_index: int | None = None) -> dict:
    """GatysConfig overrides for the objective a model's ``training`` metadata describes, at ``size`` px.

    A model trained with a style weight per style (``style_scales``, ``nst train --style-scales``) has one
    objective per style: style k's is the style weight times s_k, so ``style_index`` must name the style."""
    extra = {k: (tuple(t[k]) if isinstance(t[k], list) else t[k]) for k in ("style_layer_weights", "pooling")
             if t.get(k) is not None}
    style_weight = t["style_weight"]
    if t.get("style_scales") is not None:
        if style_index is None:
            raise ValueError(f"{path}: trained with a style weight per style; say which style's objective")
        style_weight = style_weight * t["style_scales"][style_index]
    if t.get("vgg_padding", "zero") != "zero":  # models from before the option have none: the papers' zeros
        extra["vgg_padding"] = t["vgg_padding"]
    if t.get("style_size") is None:
        raise ValueError(f"{path}: trained on style files as stored; give its style size to compare at {size} px")
    return {"content_layers": tuple(t["content_layers"]), "style_layers": tuple(t["style_layers"]),
            "content_weight": t["content_weight"], "style_weight": style_weight, "tv_weight": t["tv_weight"],
            "style_scale": t["style_size"] / size, **extra}


def read_history(out: Path, curve_id: str) -> np.ndarray:
    """The objective after each L-BFGS iteration of one saved curve."""
    return np.genfromtxt(out / "histories" / f"{curve_id}.csv", delimiter=",", names=True)["objective"]


def equivalent_iterations(history: np.ndarray, value: float) -> int:
    """The first iteration (from 1) whose objective is at most ``value``; -1 if none is."""
    below = np.nonzero(history <= value)[0]
    return int(below[0]) + 1 if len(below) else -1


def stylize_border_label(net: dict) -> str:
    """How a ``more_networks`` entry is stylized: ``default`` (`nst.core.networks.STYLIZE_BORDER` at its stage),
    ``none`` (the bare network, as in training) or ``STAGE N`` px."""
    if net.get("border") is None:
        return "default"
    return "none" if int(net["border"]) == 0 else f"{net.get('border_stage', 'input')} {int(net['border'])}"


def pass_objective(model, item: dict, size: int, cache: dict) -> float:
    """One pass of ``model`` on the curve ``item``'s unseen photo, in its style, valued on its objective at ``size`` px.

    The value depends on the photo, style, size and objective, not on the curve's start, so it is computed once
    per model and reused for every curve of that photo."""
    from nst.io.images import load_image
    from nst.methods.gatys import gatys_loss
    from nst.core.vgg import VGG19

    key = ("pass", model, item["content"], item["style"], size, item["objective"])  # the model itself: no id reuse
    if key not in cache:
        vgg = cache.setdefault("vgg", VGG19.pretrained())
        content = load_image(ROOT / "data/content/eval" / f"{item['content']}.jpg", size=size)
        image = model.stylize(content, style=model.styles.index(item["style"]))
        cache[key] = gatys_loss(image, content, ROOT / "data/styles" / f"{item['style']}.jpg", vgg=vgg, size=size,
                                **objective_overrides(item["objective"], cache, size))["total"]
    return cache[key]


def more_network(item: dict, cfg: dict) -> dict:
    """The ``more_networks`` entry a pass item scores."""
    return next(n for n in cfg["more_networks"] if n["label"] == item["network"] and n["style"] == item["style"])


def network_pass(item: dict, cfg: dict, cache: dict) -> dict:
    """One pass of a ``more_networks`` entry, scored on its curve's objective and read off that curve."""
    import nst

    net = more_network(item, cfg)
    size = int(item.get("size") or cfg["size"])
    model = cache.setdefault(net["path"], nst.load(ROOT / net["path"]))
    if net.get("border") is not None:
        model = cache.setdefault((net["path"], "border", stylize_border_label(net)),
                                 model.with_border(int(net["border"]), net.get("border_stage", "input")))
    if item["objective"] in ("training", REFLECT) and training_objective(
            model.meta["training"], size, net["path"]) != objective_overrides(item["objective"], cache, size):
        raise ValueError(f"{net['path']} was not trained on the {item['objective']} objective")
    value = pass_objective(model, item, size, cache)
    return {"network_objective": value, "network_iterations": int(model.meta["iterations"]),
            "network_equivalent_iterations": equivalent_iterations(read_history(cache["out"], item["curve"]), value)}


CURVES_RECORD = "histories/curves.memo.json"  # each curve's definition and result (`experiments.memo`)


def curve_definition(item: dict, cfg: dict, size: int, objective: dict, lbfgs: dict) -> dict:
    """Everything one L-BFGS curve depends on: a re-run whose curve has the same definition reuses it."""
    split = item.get("split", "eval")
    return {"photo": f"data/content/{split}/{item['content']}.jpg", "painting": f"data/styles/{item['style']}.jpg",
            "size": size, "steps": int(cfg["steps"]), "init": item.get("init", "content"), "seed": 0, **lbfgs,
            "objective": objective}


def gatys_curve(item: dict, cfg: dict, cache: dict, content, size: int, objective: dict) -> tuple[np.ndarray, dict]:
    """The item's L-BFGS curve (its objective after each iteration, written to ``histories/ID.csv``) and its
    row's Gatys columns; a curve of the same definition that an earlier run of this page left is reused."""
    from experiments import memo
    from nst.methods.gatys import gatys_transfer
    from nst.core.vgg import VGG19

    lbfgs = {"lbfgs_memory": int(item["lbfgs_memory"])} if item.get("lbfgs_memory") else {}
    if item.get("linesearch"):
        lbfgs["linesearch"] = item["linesearch"]
    definition = curve_definition(item, cfg, size, objective, lbfgs)
    record, path = cache["out"] / CURVES_RECORD, cache["out"] / "histories" / f"{item['id']}.csv"
    kept = memo.recall(record, item["id"], definition, [path])
    if kept is not None:
        return read_history(cache["out"], item["id"]), kept
    vgg = cache.setdefault("vgg", VGG19.pretrained())
    t0 = time.perf_counter()
    res = gatys_transfer(content, ROOT / "data/styles" / f"{item['style']}.jpg", size=size, steps=cfg["steps"],
                         vgg=vgg, verbose=False, init=item.get("init", "content"), seed=0, **lbfgs, **objective)
    step = statistics.median(res.step_seconds) if res.step_seconds else res.seconds
    history = np.asarray(res.history)
    path.parent.mkdir(exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["iteration", "objective", "warm_seconds"])
        for i, v in enumerate(history, 1):
            w.writerow([i, f"{v:.6g}", f"{i * step:.4f}"])
    columns = {"gatys_final": float(history[-1]), "gatys_step_seconds": step}
    memo.remember(record, item["id"], definition, columns, seconds=time.perf_counter() - t0)
    return history, columns


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst

    if item.get("kind") == "pass":
        return network_pass(item, cfg, cache)
    from nst.methods.gatys import gatys_loss
    from nst.io.images import load_image
    from nst.core.vgg import VGG19

    size = int(item.get("size") or cfg["size"])
    content = load_image(ROOT / "data/content" / item.get("split", "eval") / f"{item['content']}.jpg", size=size)
    style = ROOT / "data/styles" / f"{item['style']}.jpg"
    objective = objective_overrides(item.get("objective", "gatys"), cache, size)
    history, out = gatys_curve(item, cfg, cache, content, size, objective)
    out = dict(out)
    vgg = cache.setdefault("vgg", VGG19.pretrained())
    ff = {}
    jpath = MODELS["johnson"].get(item["style"])
    if jpath:
        model = cache.setdefault(jpath, nst.load(ROOT / jpath))
        ff["johnson"] = model.stylize(content, style=0)
    dmodel = cache.setdefault("dumoulin", nst.load(ROOT / MODELS["dumoulin"]))
    if item["style"] in dmodel.styles:
        ff["dumoulin"] = dmodel.stylize(content, style=dmodel.styles.index(item["style"]))
    for name, image in ff.items():
        value = gatys_loss(image, content, style, vgg=vgg, size=size, **objective)["total"]
        out[f"{name}_objective"] = value
        out[f"{name}_equivalent_iterations"] = equivalent_iterations(history, value)
    return out


def start_label(r: dict) -> str:
    """The Gatys start of a row, with its L-BFGS history length where it is not the default 10 and its line
    search where it is not the default backtracking (``none``: torch's optim.lbfgs, as neural-style)."""
    memory, linesearch = r.get("lbfgs_memory"), r.get("linesearch")
    return ((r.get("init") or "content") + (f", memory {int(float(memory))}" if memory not in (None, "") else "")
            + (f", line search {linesearch}" if linesearch not in (None, "") else ""))


def median_rows(rows: list[dict], px) -> list[list]:
    """One row per (photos, objective, start, size): the median, min and max equivalent iterations of every pass.

    ``photos`` is ``eval`` (never seen in training) or ``train`` (among the networks' training photos)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        key = (r.get("split") or "eval", r.get("objective") or "gatys", start_label(r), px(r))
        for name in ("johnson", "dumoulin"):
            v = r.get(f"{name}_equivalent_iterations", "")
            if v not in ("", None):
                groups.setdefault(key, []).append(float("inf") if int(v) < 0 else float(v))
    show = lambda v: "> all" if v == float("inf") else f"{v:g}"  # noqa: E731
    return [[*key, len(v), show(float(np.median(v))), show(min(v)), show(max(v))] for key, v in groups.items()]


def pass_rows(passes: list[dict], curves: dict[str, dict], px) -> tuple[list[list], list[list]]:
    """The ``more_networks`` passes, one row each, and their medians per (network, border, start, size), each
    next to the committed network it is compared with (``compare``: Johnson unless said) on the same curves."""
    show = lambda v: "> all" if v < 0 else str(int(v))  # noqa: E731
    table, groups = [], {}

    def start_of(r: dict) -> str:  # a pass read off the reflecting loss network's curves says so by its start
        return start_label(r) + (f", {REFLECT} objective" if r.get("objective") == REFLECT else "")

    for r in passes:
        compare = r.get("compare") or "johnson"
        border = r.get("border") or "default"
        ref = curves[r["curve"]].get(f"{compare}_equivalent_iterations", "")
        table.append([f"{r['content']}-{r['style']}", start_of(r), px(r), r["network"], border,
                      int(r["network_iterations"]), f"{r['network_objective']:.4g}",
                      show(int(r["network_equivalent_iterations"])), compare,
                      show(int(ref)) if ref != "" else "—"])
        g = groups.setdefault((r["network"], border, int(r["network_iterations"]), start_of(r), px(r), compare),
                              ([], []))
        value = int(r["network_equivalent_iterations"])
        g[0].append(float("inf") if value < 0 else float(value))
        if ref != "":
            g[1].append(float("inf") if int(ref) < 0 else float(ref))
    med = lambda v: ("> all" if np.median(v) == float("inf") else f"{np.median(v):g}") if v else "—"  # noqa: E731
    return table, [[*key[:5], len(a), med(a), key[5], med(b)] for key, (a, b) in groups.items()]


def more_networks_section(passes: list[dict], curves: dict[str, dict], px) -> str:
    table, medians = pass_rows(passes, curves, px)
    return ("\n\nOther networks trained on the same objective, or a committed network stylized with another border "
            "(`more_networks`), one pass each, read off the same curves; the `bordered_reflect` fine-tunes of "
            "`train_border`, trained on the objective with a reflecting loss network, only off that objective's "
            "curves (`training_reflect`). `border`: `default` is the stylize "
            "default (a reflected border around the residual blocks' map, against the edge line), `none` the bare "
            "network, which is how every network here was trained. `committed ≡` is the committed network named in "
            "`compared with`, stylized with the default border, on that curve. `training it.`: the network's "
            "training iterations (a fine-tune's own, after those of the network it started from).\n\n"
            + markdown_table(["photo-style", "Gatys start", "px", "network", "border", "training it.", "objective",
                              "≡ Gatys it.", "compared with", "committed ≡"], table)
            + "\n\nMedians per network, border, start and size:\n\n"
            + markdown_table(["network", "border", "training it.", "Gatys start", "px", "passes",
                              "median ≡ Gatys it.", "compared with", "committed network's median"], medians))


def plot(rows: list[dict], out: Path) -> list[Path]:
    eq = lambda r, k: (int(r[k]) if r.get(k, "") not in ("", None) and int(r[k]) > 0 else "> all")  # noqa: E731
    base_size = run_config(out).get("size", "")
    px = lambda r: int(r.get("size") or base_size or 0)  # noqa: E731 - rows before larger_sizes have no size
    passes = [r for r in rows if r.get("kind") == "pass"]
    rows = [r for r in rows if r.get("kind") != "pass"]
    table = [[f"{r['content']}-{r['style']}", r.get("split") or "eval", r.get("objective") or "gatys",
              start_label(r), px(r),
              f"{r['gatys_final']:.4g}", f"{r.get('johnson_objective', float('nan')):.4g}",
              eq(r, "johnson_equivalent_iterations") if "johnson_objective" in r and r["johnson_objective"] != ""
              else "—", f"{r.get('dumoulin_objective', float('nan')):.4g}",
              eq(r, "dumoulin_equivalent_iterations") if "dumoulin_objective" in r and r["dumoulin_objective"] != ""
              else "—"] for r in rows]
    md = out / "summary.md"
    md.write_text("Gatys objective (lower is better) after the last L-BFGS step, and where the feedforward "
                  "outputs land on the same objective; 'equivalent iterations' = first Gatys step that does "
                  "at least as well. Johnson et al. (Fig. 5) report 50–100 iterations from a noise start on "
                  "their networks' objective, at 256, 512 and 1024 px with networks trained at 256. `photos`: "
                  "`eval` photos were never seen in training, `train` photos are among the networks' training "
                  "photos. `Gatys start`: `content` is the photo, `noise` uniform white noise over the pixel range, "
                  "`mean_pixel_noise` neural-style's random start (the ImageNet mean colour with faint noise); "
                  "`memory 100`: L-BFGS keeps 100 pairs of history, as torch's optim.lbfgs does in neural-style "
                  "(10 otherwise); `line search none`: torch's optim.lbfgs as a whole, as neural-style runs it "
                  "(unit steps without a line search, negative-curvature pairs left out of the history; the "
                  "objective may rise from one step to the next, and a panel whose curve jumps far above its start "
                  "is cut off there, with the peak in its title).\n\n"
                  + markdown_table(["photo-style", "photos", "objective", "Gatys start", "px", "Gatys final", "Johnson",
                                    "Johnson ≡ Gatys it.", "Dumoulin", "Dumoulin ≡ Gatys it."], table)
                  + "\n\nMedian equivalent iterations per objective, start and size (both networks' passes together; "
                  "'> all' counts as more than the run's steps):\n\n" + markdown_table(
                      ["photos", "objective", "Gatys start", "px", "passes", "median ≡ Gatys it.", "min", "max"],
                      median_rows(rows, px))
                  + (more_networks_section(passes, {r["id"]: r for r in rows}, px) if passes else ""))
    n = len(rows)
    fig, axes = subplots(n, 2, figsize=(10, 2.8 * n), dpi=90, squeeze=False)
    for ax_row, r in zip(axes, rows):
        h = np.genfromtxt(out / "histories" / f"{r['id']}.csv", delimiter=",", names=True)
        for ax, x, label in ((ax_row[0], h["iteration"], "L-BFGS iteration"),
                             (ax_row[1], h["warm_seconds"], "warm wall time (s)")):
            ax.plot(x, h["objective"], label="Gatys")
            for name, color in (("johnson", "tab:orange"), ("dumoulin", "tab:green")):
                v = r.get(f"{name}_objective", "")
                if v != "" and v is not None:
                    ax.axhline(float(v), color=color, ls="--", label=name)
            ax.set_yscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel("Gatys objective")
            title = r["id"]
            peak = int(np.argmax(h["objective"]))
            if h["objective"][peak] > 10 * h["objective"][0]:  # torch's unit steps can overshoot by orders
                ax.set_ylim(top=3 * h["objective"][0])
                title += f"\n(cut off: peak {h['objective'][peak]:.2g} at iteration {peak + 1})"
            ax.set_title(title, fontsize=9)
        ax_row[0].legend(fontsize=8)
    return [md, save_figure(fig, out / "quality_vs_time.png")]


# neural-style's start alone, with torch's 100 pairs of history, then with torch's L-BFGS as a whole
# (unit steps, no line search, negative-curvature pairs skipped): neural-style's own protocol
NEURAL_STYLE_STARTS = [{"init": "mean_pixel_noise"}, {"init": "mean_pixel_noise", "lbfgs_memory": 100},
                       {"init": "mean_pixel_noise", "lbfgs_memory": 100, "linesearch": "none"}]

# the committed networks without the stylize border: the computation they were trained in (training adds no
# border), as Johnson et al. ran their networks in Fig. 5 the way they trained them (fast-neural-style's
# `reflect-start` padding is part of the network in train.lua and at test time alike)
BARE_NETWORKS = [*({"label": "johnson_bare", "style": style, "path": path, "border": 0}
                   for style, path in MODELS["johnson"].items()),
                 *({"label": "dumoulin_bare", "style": style, "path": MODELS["dumoulin"], "border": 0,
                    "compare": "dumoulin"} for style in MODELS["johnson"])]

# train_border's ``bordered_reflect`` fine-tunes (trained with the stylize border and a reflecting loss network),
# read off curves of their own objective; the files are that run's (git-ignored: run train_border first)
def _bordered_reflect(path: str) -> str:
    return f"results/train_border/models/{Path(path).stem}_bordered_reflect.nst"


REFLECT_NETWORKS = [*({"label": "johnson_bordered_reflect", "style": style, "objective": REFLECT,
                       "path": _bordered_reflect(path)} for style, path in MODELS["johnson"].items()),
                    *({"label": "dumoulin_bordered_reflect", "style": style, "objective": REFLECT,
                       "compare": "dumoulin", "path": _bordered_reflect(MODELS["dumoulin"])}
                      for style in MODELS["johnson"])]


def item_reads(item: dict, cfg: dict) -> list[str]:
    """A curve reads the reference networks that have its painting, a ``more_networks`` pass its network; both read
    the training objective's metadata (`objective_overrides`) unless they are on Gatys' own objective."""
    objective = [] if item.get("objective", "gatys") == "gatys" else [next(iter(MODELS["johnson"].values()))]
    if item.get("kind") == "pass":
        return [more_network(item, cfg)["path"], *objective]
    johnson = [MODELS["johnson"][item["style"]]] if item["style"] in MODELS["johnson"] else []
    return [*johnson, MODELS["dumoulin"], *objective]


def item_outputs(item: dict, cfg: dict, out: Path) -> list[Path]:
    """A curve's history, which the passes read off it (`read_history`)."""
    return [] if item.get("kind") == "pass" else [out / "histories" / f"{item['id']}.csv"]


def reads(cfg: dict) -> list[str]:
    """The reference networks, and the other networks read off the same curves (``more_networks``)."""
    return [*MODELS["johnson"].values(), MODELS["dumoulin"], *(n["path"] for n in cfg.get("more_networks", []))]


EXPERIMENT = register(Experiment(
    name="quality_vs_time",
    description="Gatys objective vs iterations and time, with Johnson/Dumoulin outputs on the same objective",
    presets={"quick": {"contents": ["skimage_chelsea"], "styles": ["vangogh_starry_night"], "size": 64,
                       "steps": 8, "noise_objectives": ["gatys"], "larger_sizes": [96],
                       "train_contents": ["skimage_coffee"],
                       "more_starts": NEURAL_STYLE_STARTS, "reflect_starts": NEURAL_STYLE_STARTS[-1:],
                       # the committed network again: its pass must land where the curve row says
                       "more_networks": [{"label": "johnson_again", "style": "vangogh_starry_night",
                                          "path": MODELS["johnson"]["vangogh_starry_night"]},
                                         {"label": "dumoulin_bare", "style": "vangogh_starry_night",
                                          "path": MODELS["dumoulin"], "border": 0, "compare": "dumoulin"}]},
             "cpu": {"contents": ["kodak_kodim23", "skimage_chelsea"],
                     "styles": ["vangogh_starry_night", "hokusai_great_wave"], "size": 256, "steps": 300,
                     "objectives": ["gatys", "training"], "noise_objectives": ["training"],
                     "noise_contents": ["kodak_kodim23", "skimage_chelsea", "kodak_kodim21", "kodak_kodim08"],
                     "train_contents": ["kodak_kodim03", "kodak_kodim20", "coco_val2017_000000000872",
                                        "skimage_coffee"],
                     "larger_sizes": [512],
                     "more_starts": NEURAL_STYLE_STARTS,
                     # scratch_capacity's width1_longer: the committed recipe and seed, trained past 10k iterations
                     "more_networks": [{"label": "width1_longer", "style": "vangogh_starry_night",
                                        "path": "results/models/scratch_capacity/w1/johnson_starry_night.nst"},
                                       *BARE_NETWORKS, *REFLECT_NETWORKS],
                     # neural-style's protocol on the reflecting loss network's objective
                     "reflect_starts": NEURAL_STYLE_STARTS[-1:]},
             "gpu": {"contents": ["kodak_kodim08", "kodak_kodim13", "kodak_kodim21", "kodak_kodim22",
                                  "kodak_kodim23", "skimage_chelsea"],
                     "styles": ["vangogh_starry_night", "hokusai_great_wave"], "size": 512, "steps": 500,
                     "objectives": ["gatys", "training"], "noise_objectives": ["training"],
                     "more_starts": NEURAL_STYLE_STARTS}},
    reads=reads, item_reads=item_reads, item_outputs=item_outputs,
    items=items, run_item=run_item, plot=plot))
