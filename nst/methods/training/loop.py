r"""The training loop shared by generations 2 and 3 (Johnson et al. 2016; Dumoulin et al. 2017).

The networks minimise the perceptual objective of `nst.core.objective` over batches of content
photos, each example drawn towards one style:

.. math::  L(x) = \alpha L_c(T(x), x) + \beta \sum_\ell w_\ell E_\ell(T(x), a_{s(x)}) + \gamma L_{tv}(T(x))

for a content batch x, the network T and the style :math:`s` drawn for each example.  The
options and their defaults are `TrainConfig` (`.config`); one step is `make_train_step`
(`.step`); adding a style's rows is `.surgery`; what a model file records is `.metadata`.

The loop is Flax-examples style: a pure, jitted ``train_step(state, batch) -> (state, metrics)``;
batches are split across all local devices (`jax.sharding`, parameters replicated), so the same
command runs on one CPU, on several GPUs, or — after ``jax.distributed.initialize()`` — on
several hosts.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ...core.networks import NetworkConfig, TransformerNet
from ...core.vgg import VGG19
from ...errors import NSTError
from ...io.data import ContentBatches
from ...io.images import ImageLike, image_name, load_image
from ...io.memory import available_memory
from ...io.modelfile import flatten_tree, load_tensors, save_tensors, unflatten_like
from ...io.progress import ProgressTable
from .config import TrainConfig, default_max_iterations
from .metadata import describe_style, infos_from_meta, model_meta
from .step import TrainState, make_train_step, optimizer, style_choices, style_targets
from .surgery import extend_styles, new_row_mask


@dataclass
class TrainResult:
    model: TransformerNet
    meta: dict
    history: np.ndarray  # (iterations, 5): iteration, loss, content, style, tv
    interrupted: bool = False


def mesh_put(state: TrainState) -> tuple[TrainState, Any, int]:
    devices = jax.devices()
    mesh = jax.sharding.Mesh(np.array(devices), ("data",))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    return jax.device_put(state, replicated), data, len(devices)


# Peak memory of the VGG19 pass that computes a style's Grams (to relu4_3), per style-image pixel: the two
# 64-channel float32 maps at full resolution are 512 bytes, the convolutions' workspace about as much again.
STYLE_GRAMS_BYTES_PER_PIXEL = 1100


def check_style_memory(sources: Sequence[ImageLike], images: Sequence[np.ndarray]) -> None:
    """Refuse, before any training work, a style image whose Grams would need more memory than is free
    (``style_size=None`` keeps a painting file as stored, however large it is)."""
    available = available_memory()
    for i, (source, image) in enumerate(zip(sources, images)):
        h, w = image.shape[:2]
        need = h * w * STYLE_GRAMS_BYTES_PER_PIXEL
        if available is not None and need > available:
            raise NSTError(f"{image_name(source, i)}: a {w}x{h} px style image needs about {need / 1e9:.1f} GB for "
                           f"its Grams and {available / 1e9:.1f} GB are available: give --style-size "
                           "(style_size= in Python)")


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
    iterations, on Ctrl-C and when the run ends (at ``max_iterations`` or
    its time limit); ``resume`` continues from one to the same result an
    uninterrupted run gives, also past the ``max_iterations`` the
    checkpoint was written with (train 1000 iterations, look, go on to 3000).
    """
    cfg = replace(config or TrainConfig(), **overrides).validate()
    ckpt_tensors, ckpt_meta = (None, None)
    if resume is not None:
        ckpt_tensors, ckpt_meta = load_tensors(resume)
        if "checkpoint" not in ckpt_meta:
            raise NSTError(f"{resume}: a finished model, not a training checkpoint")
        saved = TrainConfig.from_dict(ckpt_meta["training"])
        if saved.lr_schedule != "constant" and cfg.max_iterations not in (None, saved.max_iterations):
            raise NSTError(f"{resume}: its learning rate decays to 0 at iteration {saved.max_iterations} "
                           f"(lr_schedule {saved.lr_schedule}), so the run cannot go on to {cfg.max_iterations}; "
                           "fine-tune the finished model instead")
        cfg = replace(saved, max_iterations=cfg.max_iterations or saved.max_iterations,
                      time_limit=cfg.time_limit, checkpoint_every=cfg.checkpoint_every)
    style_list = list(styles)
    if not style_list:
        raise NSTError("at least one style image is needed")
    if cfg.method == "johnson" and len(style_list) != 1 and base is None:
        raise NSTError(f"a johnson model learns exactly one style; got {len(style_list)} (use method dumoulin)")
    style_imgs = [load_image(s, size=cfg.style_size) for s in style_list]
    check_style_memory(style_list, style_imgs)
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
        # A style's identity is its pixels at the size the model was trained with, so a fine-tune may
        # compute its Grams at another style size (recipe "magenta": the file as stored).
        trained_size = init_meta["training"].get("style_size", cfg.style_size)
        same = infos if trained_size == cfg.style_size else [
            describe_style(s, i, load_image(s, size=trained_size)) for i, s in enumerate(style_list)]
        if list(init_meta["style_sha256"]) != [i.sha256 for i in same]:
            raise NSTError("fine-tuning needs the style images the model was trained on, in the same order")
        cfg = replace(cfg, width=init_model.config.width, network_output=init_model.config.output)
        init_record = {k: init_meta.get(k) for k in ("iterations", "training_seconds", "final_loss", "training",
                                                     "backend", "jax_version", "init_from")}
    if base is None:
        net_cfg = NetworkConfig(num_styles=len(style_imgs), width=cfg.width, output=cfg.network_output)
        model = TransformerNet(net_cfg, nnx.Rngs(cfg.seed))
        if init is not None:
            # copies: the train step donates its buffers, and the caller's model must survive
            nnx.update(model, jax.tree.map(jnp.array, nnx.state(init[0], nnx.Param)))
        all_infos = infos
    else:
        base_model, base_meta = base
        if len(style_imgs) != 1:
            raise NSTError("add one style at a time")
        model, net_cfg = extend_styles(base_model)
        only_new = net_cfg.num_styles - 1
        all_infos = infos_from_meta(base_meta) + infos
        cfg = replace(cfg, width=base_model.config.width, network_output=base_model.config.output)
    if cfg.style_scales is not None and len(cfg.style_scales) != net_cfg.num_styles:
        raise NSTError(f"style_scales needs one value per style: the network has {net_cfg.num_styles} "
                       f"style(s), {len(cfg.style_scales)} value(s) were given")
    total_iters = cfg.max_iterations or default_max_iterations(cfg.method, len(style_imgs))
    if cfg.max_iterations is None:
        cfg = replace(cfg, max_iterations=total_iters)

    vgg = (vgg or VGG19.pretrained(max_layer=cfg.objective().deepest_layer)).with_settings(cfg.pooling,
                                                                                            cfg.vgg_padding)
    grams = style_targets(vgg, style_imgs, cfg)
    if only_new is not None:  # rows for the old styles are never used: zeros keep shapes simple
        grams = {n: jnp.concatenate([jnp.zeros((only_new,) + g.shape[1:], g.dtype), g]) for n, g in grams.items()}

    graphdef, params = nnx.split(model, nnx.Param)
    tx = optimizer(cfg, total_iters)
    state = TrainState(params, tx.init(params), jnp.zeros((), jnp.int32))
    grad_mask = None if only_new is None else new_row_mask(params, only_new)
    history: list[tuple[float, ...]] = []
    start, elapsed0 = 0, 0.0
    if ckpt_tensors is not None:
        state = TrainState(unflatten_like(params, ckpt_tensors, "params/", str(resume)),
                           unflatten_like(state.opt_state, ckpt_tensors, "opt/", str(resume)),
                           jnp.asarray(int(ckpt_tensors["step"].reshape(-1)[0]), jnp.int32))
        start = int(ckpt_tensors["step"].reshape(-1)[0])
        history = [tuple(r) for r in ckpt_tensors["history"].tolist()]
        elapsed0 = float(ckpt_meta["training_seconds"])
    state, data_sharding, n_dev = mesh_put(state)
    if cfg.batch_size % n_dev:
        raise NSTError(f"batch_size {cfg.batch_size} must be a multiple of the {n_dev} devices")
    step_fn = make_train_step(graphdef, tx, vgg, grams, cfg, grad_mask)

    table = ProgressTable(total_iters, progress_seconds, breakdown, verbose, start_iteration=start,
                          elapsed_offset=elapsed0)
    t0 = time.perf_counter() - elapsed0
    pending: list[tuple[int, dict]] = []

    def flush() -> None:
        # Rows are keyed by iteration and a row already in the history is never added again, so a flush
        # that an interruption cut short and a later one cannot duplicate rows.
        rows = [(it, {k: float(v) for k, v in jax.device_get(m).items()}) for it, m in pending]
        for it, vals in rows:
            if history and it <= history[-1][0]:
                continue
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
    stop = StopRequest()
    try:
        with stop:
            for it, images in batches.iterate(start, total_iters):
                choice = style_choices(cfg.seed, it, cfg.batch_size, n_styles, only_new)
                batch = {"images": images, "style_weights": np.eye(n_styles, dtype=np.float32)[choice]}
                state, metrics = step_fn(state, jax.device_put(batch, data_sharding))
                pending.append((it + 1, metrics))
                done = it + 1
                if stop.signal is not None and done < total_iters:  # SIGINT/SIGTERM: checkpoint this step, stop
                    interrupted = True
                    save_checkpoint()
                    break
                if len(pending) >= 16 or time.perf_counter() - table.last_print >= progress_seconds or \
                        done == total_iters:
                    flush()
                if done % cfg.checkpoint_every == 0 and done < total_iters:
                    save_checkpoint()
                if cfg.time_limit is not None and time.perf_counter() - t0 > cfg.time_limit:
                    flush()
                    if verbose:
                        print(f"time limit of {cfg.time_limit:.0f} s reached after {done} iterations", flush=True)
                    break
            if not interrupted:  # the run's end: a checkpoint a longer run can resume from
                save_checkpoint()
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread's handler
        interrupted = True
        try:
            save_checkpoint()
        except RuntimeError:  # the step was cut short after its buffers were donated: keep the last checkpoint
            checkpoint = None
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


class StopRequest:
    """SIGINT (Ctrl-C) or SIGTERM (what a scheduler sends) during training, handled between steps.

    The first signal is only recorded: the loop finishes the step it is in, writes a checkpoint with
    its history (one consistent state) and stops.  A second Ctrl-C stops at once (KeyboardInterrupt).
    Handlers are installed only in the main thread and restored on exit.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class TrainingInterrupted(NSTError):
    """Ctrl-C or SIGTERM during training; ``result`` holds what was trained so far (a checkpoint was written)."""

    def __init__(self, message: str, result: TrainResult):
        super().__init__(message)
        self.result = result
