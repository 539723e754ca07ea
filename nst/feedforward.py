"""Generations 2 and 3 behind the common interface: a trained `TransformerNet` plus its metadata.

`JohnsonStylizer` (one style per network, Johnson et al. 2016) and
`DumoulinStylizer` (many styles, conditional instance norm, Dumoulin et al.
2017 — Turi Create's model) share everything; Dumoulin adds blending and
`add_style`.  Stylizing is one forward pass, compiled once per input shape.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .errors import NSTError
from .images import ImageLike
from .modelfile import load_tensors, save_tensors
from .networks import STYLIZE_BORDER, NetworkConfig, TransformerNet, count_params
from .stylizer import StyleSpec, Stylizer
from .train import flatten_tree, unflatten_like

# How many stylized copies of one image run through the network at once.
_STYLE_CHUNK = 4


class FeedforwardStylizer(Stylizer):
    """A trained network; ``stylize`` runs it.  Use `nst.load` / `nst.create` rather than the constructor."""

    method = "feedforward"

    def __init__(self, model: TransformerNet, meta: dict, history: np.ndarray | None = None):
        self.model = model
        self.meta = dict(meta)
        # Loss history (iteration, loss, content, style, tv) of the training that produced this object, if any.
        self.history = history
        self._graphdef, self._params = nnx.split(model, nnx.Param)
        graphdef = self._graphdef
        # Reflection pixels added around each picture and cropped off again (networks.STYLIZE_BORDER);
        # exports carry the same border.  0 gives the bare network.
        self.border = STYLIZE_BORDER
        self._forward = jax.jit(lambda params, x, w, border: nnx.merge(graphdef, params)(x, w, inference=True,
                                                                                        border=border),
                                static_argnums=3)

    @property
    def styles(self) -> list[str]:
        return list(self.meta["styles"])

    def _run(self, images: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if int(self.border) < 0:
            raise NSTError(f"border must be 0 or more pixels, got {self.border}")
        return np.asarray(self._forward(self._params, jnp.asarray(images), jnp.asarray(weights, jnp.float32),
                                        int(self.border)))

    def _stylize_image(self, image: np.ndarray, specs: list[StyleSpec], seed: int) -> list[np.ndarray]:
        outs: list[np.ndarray] = []
        for i in range(0, len(specs), _STYLE_CHUNK):
            chunk = specs[i : i + _STYLE_CHUNK]
            w = np.stack([s.weights for s in chunk])
            x = np.broadcast_to(image, (len(chunk),) + image.shape)
            outs.extend(self._run(x, w))
        return outs

    def stylize_batch(self, images: np.ndarray, style_weights: np.ndarray) -> np.ndarray:
        """Low-level: (B, H, W, 3) images and (B, num_styles) weights → (B, H, W, 3), with ``self.border``."""
        return self._run(images, style_weights)

    def parameter_counts(self) -> dict[str, int]:
        return count_params(self.model)

    def save(self, path: str | os.PathLike) -> Path:
        tensors = flatten_tree(self._params, "params/")
        meta = {k: v for k, v in self.meta.items() if not k.startswith("_") and k != "checkpoint"}
        for i, t in enumerate(self.meta.get("_thumbnails") or []):
            tensors[f"style_thumbnail/{i}"] = np.asarray(t, np.uint8)
        return save_tensors(path, tensors, meta)

    def summary(self) -> str:
        m = self.meta
        c = self.parameter_counts()
        lines = [
            f"{type(self).__name__} (method {self.method})",
            f"  styles ({self.num_styles}): " + ", ".join(f"{i}={n}" for i, n in enumerate(self.styles)),
            f"  network: width {m['network']['width']}, {c['total']:,} parameters "
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
        from .train import TrainConfig, train

        if content is None:
            content = options.pop("content_dir", None) or _default_content_dir()
        saved = {k: (tuple(v) if isinstance(v, list) else v) for k, v in self.meta["training"].items()}
        cfg = TrainConfig(**{**saved, "max_iterations": max_iterations or 1000, "time_limit": None})
        res = train([image], content, cfg, base=(self.model, self.meta), verbose=verbose, **options)
        meta = extended_meta(self.meta, res.meta)
        return DumoulinStylizer(res.model, meta, res.history)


def training_stages(meta: dict) -> list[dict]:
    """The training runs behind a model's metadata, earliest first.

    A model fine-tuned with ``nst train --from`` keeps the metadata of the run it started from
    under ``init_from`` (recursively); each stage has ``iterations``, ``training_seconds``,
    ``backend`` and its ``training`` options.
    """
    stages, m = [], meta
    while m:
        stages.insert(0, m)
        m = m.get("init_from")
    return stages


def describe_training(meta: dict) -> str:
    """One line per model: e.g. ``10,000 it. (gpu, batch 4, TV 0) + 200 it. (cpu, batch 1, TV 1e+07)``."""
    return " + ".join(f"{s.get('iterations') or 0:,} it. ({s.get('backend', '?')}, batch "
                      f"{(s.get('training') or {}).get('batch_size', '?')}, TV "
                      f"{(s.get('training') or {}).get('tv_weight', 0):g})" for s in training_stages(meta))


def extended_meta(base_meta: dict, new_meta: dict) -> dict:
    """Metadata of a model that `add_style` extended: iterations per style, total training time."""
    meta = dict(new_meta)
    before = base_meta.get("iterations_by_style") or [base_meta.get("iterations")] * len(base_meta["styles"])
    meta["iterations_by_style"] = list(before) + [new_meta["iterations"]]
    meta["iterations"] = base_meta.get("iterations")
    meta["training_seconds"] = base_meta.get("training_seconds", 0) + new_meta["training_seconds"]
    return meta


def _default_content_dir() -> Path:
    from .demo import find_data_dir

    return find_data_dir() / "content" / "train"


STYLIZER_CLASSES = {"johnson": JohnsonStylizer, "dumoulin": DumoulinStylizer}


def stylizer_from_training(model: TransformerNet, meta: dict, history: np.ndarray | None = None) -> FeedforwardStylizer:
    return STYLIZER_CLASSES[meta["method"]](model, meta, history)


def load(path: str | os.PathLike) -> FeedforwardStylizer:
    """Load any nst model file; returns the stylizer for its method.  Corrupt or foreign files: `NSTError`."""
    tensors, meta = load_tensors(path)
    method = meta.get("method")
    if method not in STYLIZER_CLASSES:
        raise NSTError(f"{path}: unknown method {method!r} in model file")
    try:
        net_cfg = NetworkConfig(**meta["network"])
        styles = list(meta["styles"])
    except (KeyError, TypeError):
        raise NSTError(f"{path}: model metadata is incomplete") from None
    if net_cfg.num_styles != len(styles) or net_cfg.num_styles < 1:
        raise NSTError(f"{path}: model metadata is inconsistent ({net_cfg.num_styles} styles, {len(styles)} names)")
    model = TransformerNet(net_cfg, nnx.Rngs(0))
    _, template = nnx.split(model, nnx.Param)
    params = unflatten_like(template, tensors, "params/", str(path))
    if not all(bool(jnp.isfinite(p).all()) for p in jax.tree.leaves(params)):
        raise NSTError(f"{path}: model parameters contain NaN or infinity")
    nnx.update(model, params)
    meta["_thumbnails"] = [tensors[f"style_thumbnail/{i}"] for i in range(len(styles))
                           if f"style_thumbnail/{i}" in tensors]
    return STYLIZER_CLASSES[method](model, meta)
