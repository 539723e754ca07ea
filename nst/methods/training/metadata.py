"""What a trained model's metadata records, and reading it back: styles, stages, descriptions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import jax
import numpy as np

from ...core.networks import NetworkConfig
from ...io.images import ImageLike, image_name, resize_image
from ...version import __version__
from .config import TrainConfig


@dataclass
class StyleInfo:
    name: str
    sha256: str
    thumbnail: np.ndarray  # uint8 (h, w, 3), long side 64


def describe_style(source: ImageLike, index: int, image: np.ndarray) -> StyleInfo:
    digest = hashlib.sha256(np.ascontiguousarray((image * 255 + 0.5).astype(np.uint8)).tobytes()).hexdigest()
    thumb = (resize_image(image, 64) * 255 + 0.5).astype(np.uint8)
    return StyleInfo(image_name(source, index), digest, thumb)


def model_meta(cfg: TrainConfig, net_cfg: NetworkConfig, styles: list[StyleInfo], content: list[str],
               iterations: int, final_loss: float | None, seconds: float, extra: dict | None = None) -> dict:
    return {
        "method": cfg.method, "network": net_cfg.to_dict(), "styles": [s.name for s in styles],
        "style_sha256": [s.sha256 for s in styles], "content_images": content, "training": cfg.to_dict(),
        "iterations": iterations, "final_loss": final_loss, "training_seconds": round(seconds, 2),
        "nst_version": __version__, "jax_version": jax.__version__, "backend": jax.default_backend(),
        "devices": len(jax.devices()), **(extra or {}),
    }


def infos_from_meta(meta: dict) -> list[StyleInfo]:
    thumbs = meta.get("_thumbnails") or [np.zeros((1, 1, 3), np.uint8)] * len(meta["styles"])
    return [StyleInfo(n, h, t) for n, h, t in zip(meta["styles"], meta["style_sha256"], thumbs)]



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
