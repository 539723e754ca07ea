"""What a trained model's metadata records, and reading it back: styles, stages, descriptions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import jax
import numpy as np

from ...core.networks import OUTPUTS, NetworkConfig
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


#: bounds a model file's network may ask for (a crafted file must not build a gigantic network)
MAX_STYLES = 4096
MAX_RESIDUAL_BLOCKS = 16
MAX_WIDTH = 4.0


def check_model_meta(meta: dict, source: str) -> NetworkConfig:
    """Check every metadata field a model file's loader reads (type, range, allowed values).

    Returns the network configuration; anything wrong is an `NSTError` naming ``source`` and the
    field.  Nothing is built before this passes.
    """
    from ...errors import NSTError

    def bad(field: str, why: str) -> NSTError:
        return NSTError(f"{source}: model metadata field {field!r} {why}")

    def is_int(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def is_number(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")

    if meta.get("method") not in ("johnson", "dumoulin"):
        raise bad("method", f"is {meta.get('method')!r}; expected 'johnson' or 'dumoulin'")
    net = meta.get("network")
    if not isinstance(net, dict):
        raise bad("network", "is missing or not a mapping")
    unknown = set(net) - {"num_styles", "width", "num_residual", "output"}
    if unknown:
        raise bad("network", f"has unknown keys {sorted(unknown)}")
    s, w, r = net.get("num_styles", 1), net.get("width", 1.0), net.get("num_residual", 5)
    if not is_int(s) or not 1 <= s <= MAX_STYLES:
        raise bad("network.num_styles", f"must be an integer in 1..{MAX_STYLES}, got {s!r}")
    if not is_number(w) or not 0 < w <= MAX_WIDTH:
        raise bad("network.width", f"must be a number in (0, {MAX_WIDTH}], got {w!r}")
    if not is_int(r) or not 1 <= r <= MAX_RESIDUAL_BLOCKS:
        raise bad("network.num_residual", f"must be an integer in 1..{MAX_RESIDUAL_BLOCKS}, got {r!r}")
    output = net.get("output", "sigmoid")  # files written before photo_residual existed have no key
    if output not in OUTPUTS:
        raise bad("network.output", f"must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if meta["method"] == "johnson" and s != 1:
        raise bad("network.num_styles", f"is {s}; a johnson model has exactly one style")
    styles = meta.get("styles")
    if not isinstance(styles, list) or len(styles) != s or not all(isinstance(n, str) for n in styles):
        raise bad("styles", f"must be a list of {s} names")
    hashes = meta.get("style_sha256", [])
    if not isinstance(hashes, list) or (hashes and len(hashes) != s) or not all(
            isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h) for h in hashes):
        raise bad("style_sha256", f"must be a list of {s} SHA-256 hex digests")
    for field in ("iterations",):
        v = meta.get(field)
        if v is not None and (not is_int(v) or v < 0):
            raise bad(field, f"must be a non-negative integer, got {v!r}")
    for field in ("final_loss", "training_seconds"):
        v = meta.get(field)
        if v is not None and not is_number(v):
            raise bad(field, f"must be a number, got {v!r}")
    if "training" in meta:
        if not isinstance(meta["training"], dict):
            raise bad("training", "is not a mapping")
        try:
            TrainConfig.from_dict(meta["training"]).validate()
        except NSTError as e:
            raise NSTError(f"{source}: model metadata field 'training' is invalid: {e}") from None
        except (TypeError, ValueError) as e:
            raise bad("training", f"is invalid ({e})") from None
    for field in ("content_images", "iterations_by_style"):
        if field in meta and not isinstance(meta[field], list):
            raise bad(field, "must be a list")
    if meta.get("init_from") is not None and not isinstance(meta["init_from"], dict):
        raise bad("init_from", "must be a mapping")
    return NetworkConfig(num_styles=s, width=float(w), num_residual=r, output=output)
