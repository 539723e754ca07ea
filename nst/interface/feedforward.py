"""Generations 2 and 3 behind the common interface: a trained `TransformerNet` plus its metadata.

`JohnsonStylizer` (one style per network, Johnson et al. 2016) and
`DumoulinStylizer` (many styles, conditional instance norm, Dumoulin et al.
2017 — Turi Create's model) share everything; Dumoulin adds blending and
`add_style`.  Stylizing is one forward pass, compiled once per input shape.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..core.networks import BORDER_STAGES, STYLIZE_BORDER, STYLIZE_BORDER_STAGE, TransformerNet, count_params
from ..errors import NSTError
from ..io.files import default_content_dir
from ..io.images import ImageLike, check_image_file, expand_sources, image_name, load_image
from ..io.memory import available_memory
from ..io.modelfile import flatten_tree, load_tensors, save_tensors, unflatten_like
from ..methods.training.metadata import check_model_meta, describe_training, extended_meta
from ..recipes import with_recipe
from .base import (StyleRequest, StyleSpec, StylizedImage, Stylizer, check_max_size, is_single_image,
                   resolve_styles, style_label_name)

# How many stylized copies of one image run through the network at once (fewer when memory is short).
_STYLE_CHUNK = 4
# Peak memory of one forward pass per (padded) input pixel on XLA:CPU, float32, rounded up from
# results/stylize_memory (python -m experiments.benchmarks.stylize_memory); the largest buffer is the
# final 9×9 conv's 243-channel intermediate (networks.conv_few_outputs).
STYLIZE_BYTES_PER_PIXEL = 1300


def default_border(meta: dict) -> tuple[int, str]:
    """The stylize border of a model: the one it was trained with where it was trained with one
    (``meta["training"]["train_border"]`` > 0, at its ``train_border_stage``), else `STYLIZE_BORDER` at
    `STYLIZE_BORDER_STAGE`, which hides the edge line of networks trained bare (results/border)."""
    training = meta.get("training") or {}
    if int(training.get("train_border") or 0) > 0:
        return int(training["train_border"]), str(training.get("train_border_stage") or STYLIZE_BORDER_STAGE)
    return STYLIZE_BORDER, STYLIZE_BORDER_STAGE


class FeedforwardStylizer(Stylizer):
    """A trained network; ``stylize`` runs it.  Use `nst.load` / `nst.create` rather than the constructor."""

    method = "feedforward"

    def __init__(self, model: TransformerNet, meta: dict, history: np.ndarray | None = None, *,
                 border: int | None = None, border_stage: str | None = None):
        # None: the border the network was trained with, if any (`TrainConfig.train_border`: stylize runs
        # the computation it learned), else the default against the edge line
        own_border, own_stage = default_border(meta)
        border = own_border if border is None else border
        border_stage = own_stage if border_stage is None else border_stage
        if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
            raise NSTError(f"border must be 0 or more pixels, got {border!r}")
        if border_stage not in BORDER_STAGES:
            raise NSTError(f"border_stage must be one of {', '.join(BORDER_STAGES)}, not {border_stage!r}")
        if border_stage == "residual" and border % 4:
            raise NSTError(f"a residual-stage border is a multiple of 4 px (the residual blocks run at a "
                           f"quarter of the resolution), not {border}; stage 'input' (--border-stage input) "
                           f"takes any width")
        self.model = model
        self.meta = dict(meta)
        # Loss history (iteration, loss, content, style, tv) of the training that produced this object, if any.
        self.history = history
        # Reflection pixels added around each picture (or the residual map) and cropped off again
        # (networks.STYLIZE_BORDER, STYLIZE_BORDER_STAGE);
        # exports carry the same border.  0 gives the bare network.  Fixed per object: `with_border`.
        self._border = int(border)
        self._border_stage = border_stage
        self._graphdef, self._params = nnx.split(model, nnx.Param)
        graphdef = self._graphdef
        self._forward = jax.jit(lambda params, x, w, border, stage: nnx.merge(graphdef, params)(
            x, w, inference=True, border=border, border_stage=stage), static_argnums=(3, 4))

    @property
    def border(self) -> int:
        """Reflection pixels padded around each picture when stylizing and exporting (default 16)."""
        return self._border

    @border.setter
    def border(self, value: int) -> None:
        warnings.warn("setting FeedforwardStylizer.border is deprecated; use model.with_border(n)",
                      DeprecationWarning, stacklevel=2)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise NSTError(f"border must be 0 or more pixels, got {value!r}")
        self._border = int(value)

    @property
    def border_stage(self) -> str:
        """Where the border is padded: ``"input"`` (the picture) or ``"residual"`` (`TransformerNet`)."""
        return self._border_stage

    def with_border(self, border: int, stage: str | None = None) -> "FeedforwardStylizer":
        """The same network and metadata with another stylize/export border (parameters are shared);
        ``stage`` None keeps this stylizer's `border_stage`."""
        return type(self)(self.model, self.meta, self.history, border=border,
                          border_stage=self._border_stage if stage is None else stage)

    @property
    def parameters(self) -> Any:
        """The network's parameters (an `nnx.State` of arrays), e.g. to compare two models."""
        return self._params

    @property
    def styles(self) -> list[str]:
        return list(self.meta["styles"])

    def _run(self, images: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.asarray(self._forward(self._params, jnp.asarray(images), jnp.asarray(weights, jnp.float32),
                                        self._border, self._border_stage))

    def copies_per_call(self, h: int, w: int, wanted: int) -> int:
        """How many (image, style) copies of an h×w picture one forward pass may take: ``wanted``, fewer
        when memory is short; an `NSTError` naming ``--max-size`` when not even one fits."""
        per_copy = (h + 2 * self._border + 3) * (w + 2 * self._border + 3) * STYLIZE_BYTES_PER_PIXEL
        available = available_memory()
        if available is None:
            return max(1, wanted)
        if per_copy > available:
            raise NSTError(f"a {w}x{h} px image needs about {per_copy / 1e9:.1f} GB to stylize and "
                           f"{available / 1e9:.1f} GB are available: shrink it with --max-size "
                           "(max_size= in Python)")
        return max(1, min(wanted, available // per_copy))

    def stylize_group(self, images: Sequence[np.ndarray], specs: Sequence[StyleSpec],
                      batch_size: int = _STYLE_CHUNK) -> list[list[np.ndarray]]:
        """Same-size ``images`` × ``specs`` through the network, up to ``batch_size`` copies per pass;
        ``out[i][k]`` is image i in style k.  Instance norm is per image, so batching changes nothing."""
        h, w = images[0].shape[:2]
        if any(im.shape != images[0].shape for im in images):
            raise NSTError("stylize_group needs images of one size")
        pairs = [(i, k) for i in range(len(images)) for k in range(len(specs))]  # image-major
        per_call = self.copies_per_call(h, w, max(1, batch_size))
        out: list[list[np.ndarray]] = [[] for _ in images]
        for start in range(0, len(pairs), per_call):
            chunk = pairs[start:start + per_call]
            x = np.stack([images[i] for i, _ in chunk])
            weights = np.stack([specs[k].weights for _, k in chunk])
            for (i, _), y in zip(chunk, self._run(x, weights)):
                out[i].append(y)
        return out

    def stylize_one(self, image: np.ndarray, specs: Sequence[StyleSpec],
                    seed: int | None) -> list[tuple[np.ndarray, dict[str, Any]]]:
        return [(y, {}) for y in self.stylize_group([image], specs)[0]]

    def stylize_stream(self, images: ImageLike | Iterable[ImageLike], style: StyleRequest = None, *,
                       max_size: int | None = None, batch_size: int = _STYLE_CHUNK,
                       prefetch: int = 4) -> Iterator[StylizedImage]:
        """Stylize many images as a stream, in order: the next files are decoded on a background thread
        while the network runs, and consecutive images of one size go through it together (up to
        ``batch_size`` copies per pass, fewer when memory is short).  Yields one `StylizedImage` per
        image and style (image-major, as `stylize` returns them); only ``prefetch`` + ``batch_size``
        decoded pictures are held at a time, so a folder of any length streams in bounded memory.
        """
        check_max_size(max_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise NSTError(f"batch_size must be a positive integer, got {batch_size!r}")
        specs, _ = resolve_styles(style, self.num_styles, self.styles)
        sources = expand_sources(images)
        for src in sources:  # every header before the first picture is stylized
            check_image_file(src)
        queue: deque = deque()
        ahead = iter(enumerate(sources))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nst-decode") as pool:
            def fill() -> None:
                while len(queue) < max(1, prefetch):
                    nxt = next(ahead, None)
                    if nxt is None:
                        return
                    ci, src = nxt
                    queue.append((ci, src, pool.submit(load_image, src, max_size=max_size)))

            fill()
            while queue:
                ci, src, job = queue.popleft()
                group = [(ci, src, job.result())]
                fill()
                while queue and len(group) * len(specs) < batch_size:
                    ci2, src2, job2 = queue[0]
                    img2 = job2.result()
                    if img2.shape != group[0][2].shape:
                        break
                    queue.popleft()
                    group.append((ci2, src2, img2))
                    fill()
                outs = self.stylize_group([g[2] for g in group], specs, batch_size)
                for (ci, src, _), per_image in zip(group, outs):
                    for spec, y in zip(specs, per_image):
                        yield StylizedImage(y, ci, image_name(src, ci), spec.label,
                                            style_label_name(spec.label, self.styles), {})

    def stylize(self, images: ImageLike | Iterable[ImageLike], style: StyleRequest = None, *,
                max_size: int | None = None, seed: int | None = None) -> np.ndarray | list[StylizedImage]:
        """Stylize ``images`` (see `Stylizer.stylize`); many images stream through `stylize_stream`."""
        if is_single_image(images):
            return super().stylize(images, style, max_size=max_size, seed=seed)
        check_max_size(max_size)
        resolve_styles(style, self.num_styles, self.styles)  # errors before any decoding
        return list(self.stylize_stream(images, style, max_size=max_size))

    def stylize_batch(self, images: np.ndarray, style_weights: np.ndarray) -> np.ndarray:
        """Low-level: (B, H, W, 3) images and (B, num_styles) weights → (B, H, W, 3), with ``self.border``."""
        return self._run(images, style_weights)

    def parameter_counts(self) -> dict[str, int]:
        return count_params(self.model)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file (safetensors + JSON metadata, `nst.io.modelfile`); `nst.load` reads it."""
        tensors = flatten_tree(self._params, "params/")
        meta = {k: v for k, v in self.meta.items() if not k.startswith("_") and k != "checkpoint"}
        for i, t in enumerate(self.meta.get("_thumbnails") or []):
            tensors[f"style_thumbnail/{i}"] = np.asarray(t, np.uint8)
        return save_tensors(path, tensors, meta)

    def export(self, path: str | os.PathLike, format: str | None = None, precision: str = "float32",
               image_size: tuple[int, int] | None = None) -> Path:
        """Write the network as ONNX or Core ML with this stylizer's border (`nst.export`)."""
        from ..export import export

        return export(self, path, format=format, precision=precision, image_size=image_size)

    def fine_tune(self, styles: Sequence[ImageLike], content: Any = None, max_iterations: int | None = None,
                  verbose: bool = True, **options: Any) -> "FeedforwardStylizer":
        """Train every parameter on from this model with other options (e.g. ``tv_weight``); a new stylizer.

        ``styles`` must be the images the model was trained on, in order (checked by hash).
        ``options`` are `TrainConfig` fields and ``checkpoint``/``resume``; the new metadata keeps
        this model's training under ``init_from``.
        """
        from ..methods.training import TrainConfig, train

        run = {k: options.pop(k) for k in ("checkpoint", "resume", "breakdown", "vgg") if k in options}
        cfg = TrainConfig.from_dict(self.meta["training"], **{"time_limit": None, **with_recipe(options, "train"),
                                                              "max_iterations": max_iterations})
        res = train(list(styles), default_content_dir() if content is None else content, cfg,
                    init=(self.model, self.meta), verbose=verbose, **run)
        return stylizer_from_training(res.model, res.meta, res.history)

    def summary(self) -> str:
        m = self.meta
        c = self.parameter_counts()
        lines = [
            f"{type(self).__name__} (method {self.method})",
            f"  styles ({self.num_styles}): " + ", ".join(f"{i}={n}" for i, n in enumerate(self.styles)),
            f"  network: width {m['network']['width']}, output {m['network'].get('output', 'sigmoid')}, "
            f"{c['total']:,} parameters "
            f"({c['conv']:,} conv, {c['per_style']:,} per style)",
            f"  content images: {len(m.get('content_images', []))}",
            f"  iterations: {m.get('iterations')}, training time: {m.get('training_seconds', 0):.0f} s, "
            f"final loss: {m.get('final_loss')}",
        ]
        if m.get("init_from"):
            f = m["init_from"]
            lines.append(f"  fine-tuned from a model trained for {f.get('iterations')} iterations "
                         f"({f.get('training_seconds', 0):.0f} s on {f.get('backend')}); all stages: "
                         f"{describe_training(m)}")
        return "\n".join(lines)


class JohnsonStylizer(FeedforwardStylizer):
    """Generation 2: one network per style (Johnson, Alahi & Fei-Fei 2016)."""

    method = "johnson"


class DumoulinStylizer(FeedforwardStylizer):
    """Generation 3: one network, many styles, conditional instance norm (Dumoulin et al. 2017)."""

    method = "dumoulin"

    def add_style(self, image: ImageLike, content: Any = None, max_iterations: int | None = None,
                  verbose: bool = True, **options: Any) -> "DumoulinStylizer":
        """Learn one more style by training only its γ/β rows; returns a new stylizer.

        Every existing parameter stays bit-identical (tested).  ``content``
        defaults to the training folder recorded in the model.
        """
        from ..methods.training import TrainConfig, train

        if content is None:
            content = options.pop("content_dir", None) or default_content_dir()
        run = {k: options.pop(k) for k in ("checkpoint", "resume", "breakdown", "vgg") if k in options}
        cfg = TrainConfig.from_dict(self.meta["training"], **{"time_limit": None, **with_recipe(options, "train"),
                                                              "max_iterations": max_iterations or 1000})
        res = train([image], content, cfg, base=(self.model, self.meta), verbose=verbose, **run)
        meta = extended_meta(self.meta, res.meta)
        return DumoulinStylizer(res.model, meta, res.history)


STYLIZER_CLASSES = {"johnson": JohnsonStylizer, "dumoulin": DumoulinStylizer}


def stylizer_from_training(model: TransformerNet, meta: dict, history: np.ndarray | None = None) -> FeedforwardStylizer:
    """The stylizer for a freshly trained network and its metadata (``meta["method"]`` picks the class)."""
    return STYLIZER_CLASSES[meta["method"]](model, meta, history)


def load(path: str | os.PathLike) -> FeedforwardStylizer:
    """Load any nst model file; returns the stylizer for its method.  Corrupt or foreign files: `NSTError`."""
    tensors, meta = load_tensors(path)
    net_cfg = check_model_meta(meta, str(path))  # every field, before anything is built
    styles = list(meta["styles"])
    # Shapes come from the configuration without allocating (nnx.eval_shape), and every tensor is
    # checked against them before the network is assembled from the file's arrays.
    graphdef, template = nnx.split(nnx.eval_shape(lambda: TransformerNet(net_cfg, nnx.Rngs(0))), nnx.Param)
    params = unflatten_like(template, tensors, "params/", str(path))
    if not all(bool(jnp.isfinite(p).all()) for p in jax.tree.leaves(params)):
        raise NSTError(f"{path}: model parameters contain NaN or infinity")
    model = nnx.merge(graphdef, params)
    meta["_thumbnails"] = [tensors[f"style_thumbnail/{i}"] for i in range(len(styles))
                           if f"style_thumbnail/{i}" in tensors]
    return STYLIZER_CLASSES[meta["method"]](model, meta)
