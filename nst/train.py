r"""Training the feedforward networks (generations 2 and 3 share all of it).

Perceptual loss (Johnson et al. 2016) with the shared VGG19 and the one loss
convention of `nst.losses`:

.. math::  L(x) = \alpha L_c(T(x), x) + \beta \sum_\ell w_\ell E_\ell(T(x), a_{s(x)}) + \gamma L_{tv}(T(x))

for a content batch x, the network T and the style :math:`s` drawn for each
example.  Default layers for VGG19 (Johnson used VGG16):

* style: relu1_1, relu2_1, relu3_1, relu4_1 — the first ReLU of each block
  up to block 4, as Gatys et al. (without relu5_1, whose 16×16 receptive
  stride adds little texture at 256 px and would cost a fifth block);
* content: relu2_2 — Johnson et al.'s choice (relu2_2 of VGG16): early
  enough to keep edges and layout, late enough to leave colours and texture
  free to change.

VGG stops at relu4_1, the deepest layer used.  Style Grams are computed once
per style at ``style_size``.

The loop is Flax-examples style: a pure, jitted ``train_step(state, batch) ->
(state, metrics)``; batches are split across all local devices
(`jax.sharding`, parameters replicated), so the same command runs on one CPU,
on several GPUs, or — after ``jax.distributed.initialize()`` — on several hosts.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from .data import ContentBatches
from .errors import NSTError
from .images import ImageLike, image_name, load_image, resize_image
from .losses import content_loss, gram_loss, gram_matrix, total_variation_loss
from .modelfile import load_tensors, save_tensors
from .networks import NetworkConfig, TransformerNet
from .progress import ProgressTable
from .vgg import LAYER_INDEX, VGG19, check_layers

TRAIN_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
TRAIN_CONTENT_LAYERS = ("relu2_2",)


def default_max_iterations(method: str, num_styles: int) -> int:
    """Johnson: 4,000.  Dumoulin: 2,000 × (1 + S/4).

    Each iteration draws one style per example, so a style sees about B/S
    examples per step: the per-style budget shrinks as S grows unless the
    iterations grow with S.  The shared convolutions learn from every style,
    so the growth is sub-proportional (Dumoulin et al. trained 32 styles for
    40k steps, about 1.25k steps per style).
    """
    if method == "johnson":
        return 4000
    return int(2000 * (1 + num_styles / 4))


@dataclass
class TrainConfig:
    """Training options (Turi Create names where they exist).  Presets override fields."""

    method: str = "johnson"
    max_iterations: int | None = None  # None: default_max_iterations(method, num_styles)
    batch_size: int = 4
    image_size: int = 256  # content crops, px
    style_size: int = 256  # long side of each style image when its Grams are computed
    content_weight: float = 1.0
    style_weight: float = 1e-5  # β on our Gram normalisation (nst.losses); calibrated, see README
    tv_weight: float = 0.0
    learning_rate: float = 1e-3
    width: float = 1.0
    seed: int = 0
    checkpoint_every: int = 500
    content_layers: tuple[str, ...] = TRAIN_CONTENT_LAYERS
    style_layers: tuple[str, ...] = TRAIN_STYLE_LAYERS
    time_limit: float | None = None  # seconds; stop early (and save) when exceeded

    def validate(self) -> "TrainConfig":
        if self.method not in ("johnson", "dumoulin"):
            raise NSTError(f"training method must be johnson or dumoulin, not {self.method!r}")
        for name in ("batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise NSTError(f"{name} must be at least 1")
        if self.max_iterations is not None and self.max_iterations < 1:
            raise NSTError("max_iterations must be at least 1")
        if self.image_size < 32 or self.style_size < 32:
            raise NSTError("image_size and style_size must be at least 32 px")
        if not 0 < self.width <= 4:
            raise NSTError("width must be in (0, 4]")
        for name in ("content_weight", "style_weight", "tv_weight", "learning_rate"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise NSTError(f"{name} must be a finite non-negative number")
        check_layers(self.content_layers + self.style_layers)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@jax.tree_util.register_dataclass
@dataclass
class TrainState:
    params: Any
    opt_state: Any
    step: jax.Array


# ---------------------------------------------------------------------------
# Pure pieces
# ---------------------------------------------------------------------------


def style_targets(vgg: VGG19, styles: Sequence[np.ndarray], layers: Sequence[str]) -> dict[str, jax.Array]:
    """Gram targets stacked over styles: layer -> (S, C, C)."""
    per_style = [vgg(jnp.asarray(s)[None], layers) for s in styles]
    return {n: jnp.concatenate([gram_matrix(f[n]) for f in per_style]) for n in layers}


def perceptual_loss(
    out: jax.Array, images: jax.Array, style_weights: jax.Array, vgg: VGG19, grams: dict[str, jax.Array],
    cfg: TrainConfig,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean over the batch of α·content + β·style + γ·TV, and each term."""
    layers = list(dict.fromkeys(cfg.content_layers + cfg.style_layers))
    f_out = vgg(out, layers)
    f_in = vgg(images, cfg.content_layers)
    lc = sum(content_loss(f_out[n], f_in[n]) for n in cfg.content_layers) / len(cfg.content_layers)
    ls = 0.0
    for n in cfg.style_layers:
        target = jnp.einsum("bs,scd->bcd", style_weights, grams[n])
        ls = ls + gram_loss(gram_matrix(f_out[n]), target) / len(cfg.style_layers)
    tv = total_variation_loss(out)
    c, s, t = cfg.content_weight * lc.mean(), cfg.style_weight * ls.mean(), cfg.tv_weight * tv.mean()
    return c + s + t, {"loss": c + s + t, "content": c, "style": s, "tv": t}


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation, vgg: VGG19,
                    grams: dict[str, jax.Array], cfg: TrainConfig, grad_mask: Any = None) -> Callable:
    """``train_step(state, batch) -> (state, metrics)``, jitted; ``grad_mask`` freezes parameters (0 = frozen)."""

    def loss_fn(params, images, style_weights):
        out = nnx.merge(graphdef, params)(images, style_weights)
        return perceptual_loss(out, images, style_weights, vgg, grams, cfg)

    def train_step(state: TrainState, batch: dict[str, jax.Array]) -> tuple[TrainState, dict[str, jax.Array]]:
        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch["images"],
                                                                         batch["style_weights"])
        if grad_mask is not None:
            grads = jax.tree.map(lambda g, m: g * m, grads, grad_mask)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        return TrainState(optax.apply_updates(state.params, updates), opt_state, state.step + 1), metrics

    return jax.jit(train_step, donate_argnums=0)


def style_choices(seed: int, iteration: int, batch_size: int, num_styles: int, only: int | None = None) -> np.ndarray:
    """One style index per example, a pure function of (seed, iteration)."""
    if only is not None:
        return np.full(batch_size, only, np.int32)
    return np.random.default_rng([seed, 2, iteration]).integers(0, num_styles, batch_size).astype(np.int32)


# ---------------------------------------------------------------------------
# Flattening pytrees to named tensors (for model files and checkpoints)
# ---------------------------------------------------------------------------


def _key_name(k: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def flatten_tree(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        names = [_key_name(k) for k in path if _key_name(k) != "value"]
        out[prefix + "/".join(names)] = np.asarray(jax.device_get(leaf))
    return out


def unflatten_like(template: Any, tensors: dict[str, np.ndarray], prefix: str = "", source: str = "") -> Any:
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    new = []
    for path, leaf in leaves:
        key = prefix + "/".join(n for n in (_key_name(k) for k in path) if n != "value")
        if key not in tensors:
            raise NSTError(f"{source}: model file lacks tensor {key!r} (wrong or corrupt file)")
        arr = tensors[key]
        if np.shape(leaf) == () and arr.shape == (1,):  # safetensors stores scalars as shape (1,)
            arr = arr.reshape(())
        if arr.shape != np.shape(leaf) or arr.dtype != np.asarray(leaf).dtype:
            raise NSTError(f"{source}: tensor {key!r} has shape {arr.shape} {arr.dtype}, expected "
                           f"{np.shape(leaf)} {np.asarray(leaf).dtype}")
        new.append(jnp.asarray(arr))
    return jax.tree_util.tree_unflatten(treedef, new)


# ---------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------


@dataclass
class StyleInfo:
    name: str
    sha256: str
    thumbnail: np.ndarray  # uint8 (h, w, 3), long side 64


def describe_style(source: ImageLike, index: int, image: np.ndarray) -> StyleInfo:
    digest = hashlib.sha256(np.ascontiguousarray((image * 255 + 0.5).astype(np.uint8)).tobytes()).hexdigest()
    thumb = (resize_image(image, 64) * 255 + 0.5).astype(np.uint8)
    return StyleInfo(image_name(source, index), digest, thumb)


@dataclass
class TrainResult:
    model: TransformerNet
    meta: dict
    history: np.ndarray  # (iterations, 5): iteration, loss, content, style, tv
    interrupted: bool = False


def _mesh_put(state: TrainState) -> tuple[TrainState, Any, int]:
    devices = jax.devices()
    mesh = jax.sharding.Mesh(np.array(devices), ("data",))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    return jax.device_put(state, replicated), data, len(devices)


def model_meta(cfg: TrainConfig, net_cfg: NetworkConfig, styles: list[StyleInfo], content: list[str],
               iterations: int, final_loss: float | None, seconds: float, extra: dict | None = None) -> dict:
    from . import __version__

    return {
        "method": cfg.method, "network": net_cfg.to_dict(), "styles": [s.name for s in styles],
        "style_sha256": [s.sha256 for s in styles], "content_images": content, "training": cfg.to_dict(),
        "iterations": iterations, "final_loss": final_loss, "training_seconds": round(seconds, 2),
        "nst_version": __version__, "jax_version": jax.__version__, "backend": jax.default_backend(),
        "devices": len(jax.devices()), **(extra or {}),
    }


def train(
    styles: Sequence[ImageLike],
    content: str | os.PathLike | Sequence[str | os.PathLike],
    config: TrainConfig | None = None,
    *,
    checkpoint: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    base: tuple[TransformerNet, dict] | None = None,
    init: tuple[TransformerNet, dict] | None = None,
    verbose: bool = True,
    breakdown: bool = False,
    vgg: VGG19 | None = None,
    progress_seconds: float = 10.0,
    **overrides,
) -> TrainResult:
    """Train a transformer network on ``styles`` over ``content`` images.

    ``base=(model, meta)`` adds the styles to an existing multi-style model,
    training only their new γ/β rows (every other parameter stays
    bit-identical).  ``init=(model, meta)`` starts every parameter from a
    trained model of the same method, styles and width and trains all of
    them on (fine-tuning with other options, e.g. a total-variation term);
    the new metadata keeps the earlier run under ``"init_from"``.
    ``checkpoint`` is written every ``checkpoint_every``
    iterations and on Ctrl-C; ``resume`` continues from one to the same
    result an uninterrupted run gives.
    """
    cfg = replace(config or TrainConfig(), **overrides).validate()
    ckpt_tensors, ckpt_meta = (None, None)
    if resume is not None:
        ckpt_tensors, ckpt_meta = load_tensors(resume)
        if "checkpoint" not in ckpt_meta:
            raise NSTError(f"{resume}: a finished model, not a training checkpoint")
        saved = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in ckpt_meta["training"].items()})
        cfg = replace(saved, max_iterations=cfg.max_iterations or saved.max_iterations,
                      time_limit=cfg.time_limit, checkpoint_every=cfg.checkpoint_every)
    style_list = list(styles)
    if not style_list:
        raise NSTError("at least one style image is needed")
    if cfg.method == "johnson" and len(style_list) != 1 and base is None:
        raise NSTError(f"a johnson model learns exactly one style; got {len(style_list)} (use method dumoulin)")
    style_imgs = [load_image(s, size=cfg.style_size) for s in style_list]
    infos = [describe_style(s, i, im) for i, (s, im) in enumerate(zip(style_list, style_imgs))]
    if ckpt_meta is not None and [i.sha256 for i in infos] != ckpt_meta["checkpoint"]["new_style_sha256"]:
        raise NSTError(f"{resume}: the checkpoint was trained on other style images")
    batches = ContentBatches(content, cfg.image_size, cfg.batch_size, cfg.seed)
    content_names = [p.name for p in batches.files]

    # Network: fresh, or an existing model extended by new style rows.
    only_new: int | None = None
    init_record = ckpt_meta.get("init_from") if ckpt_meta is not None else None
    if init is not None and base is not None:
        raise NSTError("a run either adds a style or fine-tunes a whole model, not both")
    if init is not None:
        init_model, init_meta = init
        if init_meta["method"] != cfg.method:
            raise NSTError(f"cannot fine-tune a {init_meta['method']} model as {cfg.method}")
        if list(init_meta["style_sha256"]) != [i.sha256 for i in infos]:
            raise NSTError("fine-tuning needs the style images the model was trained on, in the same order "
                           f"and at the same style size ({init_meta['training'].get('style_size')} px)")
        cfg = replace(cfg, width=init_model.config.width)
        init_record = {k: init_meta.get(k) for k in ("iterations", "training_seconds", "final_loss", "training",
                                                     "backend", "jax_version", "init_from")}
    if base is None:
        net_cfg = NetworkConfig(num_styles=len(style_imgs), width=cfg.width)
        model = TransformerNet(net_cfg, nnx.Rngs(cfg.seed))
        if init is not None:
            # copies: the train step donates its buffers, and the caller's model must survive
            nnx.update(model, jax.tree.map(jnp.array, nnx.state(init[0], nnx.Param)))
        all_infos = infos
    else:
        base_model, base_meta = base
        if len(style_imgs) != 1:
            raise NSTError("add one style at a time")
        model, net_cfg = _extend_styles(base_model)
        only_new = net_cfg.num_styles - 1
        all_infos = _infos_from_meta(base_meta) + infos
        cfg = replace(cfg, width=base_model.config.width)
    total_iters = cfg.max_iterations or default_max_iterations(cfg.method, len(style_imgs))
    if cfg.max_iterations is None:
        cfg = replace(cfg, max_iterations=total_iters)

    vgg = vgg or VGG19.pretrained(max_layer=max(cfg.content_layers + cfg.style_layers, key=LAYER_INDEX.__getitem__))
    grams = style_targets(vgg, style_imgs, cfg.style_layers)
    if only_new is not None:  # rows for the old styles are never used: zeros keep shapes simple
        grams = {n: jnp.concatenate([jnp.zeros((only_new,) + g.shape[1:], g.dtype), g]) for n, g in grams.items()}

    graphdef, params = nnx.split(model, nnx.Param)
    tx = optax.adam(cfg.learning_rate)
    state = TrainState(params, tx.init(params), jnp.zeros((), jnp.int32))
    grad_mask = None if only_new is None else _new_row_mask(params, only_new)
    history: list[tuple[float, ...]] = []
    start, elapsed0 = 0, 0.0
    if ckpt_tensors is not None:
        state = TrainState(unflatten_like(params, ckpt_tensors, "params/", str(resume)),
                           unflatten_like(state.opt_state, ckpt_tensors, "opt/", str(resume)),
                           jnp.asarray(int(ckpt_tensors["step"].reshape(-1)[0]), jnp.int32))
        start = int(ckpt_tensors["step"].reshape(-1)[0])
        history = [tuple(r) for r in ckpt_tensors["history"].tolist()]
        elapsed0 = float(ckpt_meta["training_seconds"])
    state, data_sharding, n_dev = _mesh_put(state)
    if cfg.batch_size % n_dev:
        raise NSTError(f"batch_size {cfg.batch_size} must be a multiple of the {n_dev} devices")
    step_fn = make_train_step(graphdef, tx, vgg, grams, cfg, grad_mask)

    table = ProgressTable(total_iters, progress_seconds, breakdown, verbose, start_iteration=start,
                          elapsed_offset=elapsed0)
    t0 = time.perf_counter() - elapsed0
    pending: list[tuple[int, dict]] = []

    def flush() -> None:
        for it, m in pending:
            vals = {k: float(v) for k, v in jax.device_get(m).items()}
            history.append((it, vals["loss"], vals["content"], vals["style"], vals["tv"]))
            table.update(it, vals)
        pending.clear()

    def save_checkpoint() -> None:
        flush()
        if checkpoint is None:
            return
        tensors = {**flatten_tree(state.params, "params/"), **flatten_tree(state.opt_state, "opt/"),
                   "step": np.asarray([int(state.step)], np.int64),
                   "history": np.asarray(history, np.float64).reshape(-1, 5)}
        meta = model_meta(cfg, net_cfg, all_infos, content_names, int(state.step),
                          history[-1][1] if history else None, time.perf_counter() - t0,
                          {"checkpoint": {"new_style_sha256": [i.sha256 for i in infos], "only_new": only_new},
                           **extra})
        save_tensors(checkpoint, tensors, meta)

    extra = {"init_from": init_record} if init_record else {}
    interrupted = False
    n_styles = net_cfg.num_styles
    try:
        for it, images in batches.iterate(start, total_iters):
            choice = style_choices(cfg.seed, it, cfg.batch_size, n_styles, only_new)
            batch = {"images": images, "style_weights": np.eye(n_styles, dtype=np.float32)[choice]}
            state, metrics = step_fn(state, jax.device_put(batch, data_sharding))
            pending.append((it + 1, metrics))
            done = it + 1
            if len(pending) >= 16 or time.perf_counter() - table.last_print >= progress_seconds or done == total_iters:
                flush()
            if done % cfg.checkpoint_every == 0 and done < total_iters:
                save_checkpoint()
            if cfg.time_limit is not None and time.perf_counter() - t0 > cfg.time_limit:
                flush()
                if verbose:
                    print(f"time limit of {cfg.time_limit:.0f} s reached after {done} iterations", flush=True)
                break
    except KeyboardInterrupt:
        interrupted = True
        save_checkpoint()
    finally:
        batches.close()
    flush()
    table.close()
    seconds = time.perf_counter() - t0
    model = nnx.merge(graphdef, jax.device_get(state.params))
    meta = model_meta(cfg, net_cfg, all_infos, content_names, int(state.step),
                      history[-1][1] if history else None, seconds, extra)
    meta["_thumbnails"] = [i.thumbnail for i in all_infos]
    result = TrainResult(model, meta, np.asarray(history, np.float64).reshape(-1, 5), interrupted)
    if interrupted:
        where = f"; checkpoint saved to {checkpoint}, continue with --resume {checkpoint}" if checkpoint else ""
        raise TrainingInterrupted(f"training interrupted at iteration {int(state.step)}{where}", result)
    return result


class TrainingInterrupted(NSTError):
    def __init__(self, message: str, result: TrainResult):
        super().__init__(message)
        self.result = result


def _extend_styles(base: TransformerNet) -> tuple[TransformerNet, NetworkConfig]:
    """A copy of ``base`` with one more style row in every norm, initialised to the mean of the others."""
    old = base.config
    new_cfg = NetworkConfig(num_styles=old.num_styles + 1, width=old.width, num_residual=old.num_residual)
    model = TransformerNet(new_cfg, nnx.Rngs(0))
    old_flat = flatten_tree(nnx.state(base, nnx.Param))
    _, new_params = nnx.split(model, nnx.Param)
    tensors = {}
    for k, v in flatten_tree(new_params).items():
        o = old_flat[k]
        tensors[k] = np.concatenate([o, o.mean(axis=0, keepdims=True)]) if k.split("/")[-2] == "norm" else o
    nnx.update(model, unflatten_like(new_params, tensors, "", "base model"))
    return model, new_cfg


def _new_row_mask(params: Any, row: int) -> Any:
    def mask(path, leaf):
        names = [_key_name(k) for k in path]
        m = np.zeros(np.shape(leaf), np.float32)
        if "norm" in names:
            m[row] = 1.0
        return jnp.asarray(m)

    return jax.tree_util.tree_map_with_path(mask, params)


def _infos_from_meta(meta: dict) -> list[StyleInfo]:
    thumbs = meta.get("_thumbnails") or [np.zeros((1, 1, 3), np.uint8)] * len(meta["styles"])
    return [StyleInfo(n, h, t) for n, h, t in zip(meta["styles"], meta["style_sha256"], thumbs)]


def write_history(history: np.ndarray, path: str | os.PathLike, title: str = "") -> tuple[Path, Path]:
    """Loss history as CSV and a PNG plot (log-scale loss against iteration)."""
    from .fileio import atomic_write

    path = Path(path)
    csv_path, png_path = path.with_suffix(".loss.csv"), path.with_suffix(".loss.png")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["iteration", "loss", "content", "style", "tv"])
    for row in history:
        w.writerow([int(row[0])] + [f"{v:.6g}" for v in row[1:]])
    with atomic_write(csv_path, "w") as f:
        f.write(buf.getvalue())
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
    from .fileio import atomic_path

    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return csv_path, png_path
