"""The common interface every generation implements.

A `Stylizer` turns content images into stylized images::

    model.stylize(images, style=None | int | list[int] | dict[int, float])

* ``images``: one image (path, array, Pillow image), a folder, or a list of them.
* ``style=int``: that style; one output per image.
* ``style=None`` (all styles) or a list of indices: one output per
  (image, style) pair, ordered image-major (all styles of image 0 first).
* ``style={i: w, ...}``: a blend; weights must be finite, non-negative and not
  all zero, and are **normalised to sum to 1**.

One image with one style (an int or a dict) returns a single float32 array
(H, W, 3) in [0, 1]; everything else returns a list of `StylizedImage`
records carrying the image and style they came from.

Gatys optimises per image (a blend weights the style losses); the feedforward
methods run a network (a blend mixes the conditional-norm parameters).

``seed=None`` uses the stylizer's own seed (its configuration's); any integer, 0 included,
overrides it.  Saving and exporting belong to the feedforward stylizers
(`nst.interface.feedforward.FeedforwardStylizer.save` / ``.export``): Gatys has no trained state.
"""

from __future__ import annotations

import abc
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Sequence, Union

import numpy as np
from PIL import Image as PILImage

from ..errors import NSTError
from ..io.images import MIN_SIDE, ImageLike, expand_sources, image_name, load_image

StyleRequest = Union[None, int, Sequence[int], dict]


@dataclass(frozen=True)
class StyleSpec:
    """One requested style: a weight vector over the model's styles plus the label the user gave."""

    weights: np.ndarray  # (num_styles,), sums to 1
    label: int | dict[int, float]


@dataclass
class StylizedImage:
    """One output of `Stylizer.stylize` with where it came from."""

    image: np.ndarray  # (H, W, 3) float32 in [0, 1]
    content_index: int
    content_name: str
    style: int | dict[int, float]
    style_name: str = field(default="")
    # What the method reports about this output (Gatys: "seconds", "losses", "history"); may be empty.
    details: dict[str, Any] = field(default_factory=dict)


def resolve_styles(style: StyleRequest, num_styles: int, style_names: Sequence[str] = ()) -> tuple[list[StyleSpec], bool]:
    """Validate a ``style`` argument; return the specs and whether it names a single style."""

    def index(i: Any) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise NSTError(f"style index must be an integer, got {i!r}")
        if not 0 <= int(i) < num_styles:
            raise NSTError(f"style index {int(i)} is out of range: this model has {num_styles} "
                           f"style{'s' if num_styles != 1 else ''} (valid indices 0..{num_styles - 1})")
        return int(i)

    def one_hot(i: int) -> np.ndarray:
        w = np.zeros(num_styles, np.float32)
        w[i] = 1.0
        return w

    if style is None:
        return [StyleSpec(one_hot(i), i) for i in range(num_styles)], num_styles == 1
    if isinstance(style, dict):
        if not style:
            raise NSTError("style blend is empty; give at least one index=weight")
        w = np.zeros(num_styles, np.float64)
        for k, v in style.items():
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise NSTError(f"blend weight for style {k!r} is not a number: {v!r}") from None
            if not math.isfinite(v) or v < 0:
                raise NSTError(f"blend weight for style {k} must be finite and non-negative, got {v}")
            w[index(k)] += v
        if w.max() <= 0:
            raise NSTError("blend weights are all zero; at least one must be positive")
        w = w / w.max()  # first to [0, 1], so the sum cannot overflow however large the weights
        label = {int(k): float(v) for k, v in style.items()}
        return [StyleSpec((w / w.sum()).astype(np.float32), label)], True
    if isinstance(style, (int, np.integer)) and not isinstance(style, bool):
        i = index(style)
        return [StyleSpec(one_hot(i), i)], True
    if isinstance(style, (list, tuple, range, np.ndarray)):
        idx = [index(i) for i in style]
        if not idx:
            raise NSTError("empty list of styles")
        return [StyleSpec(one_hot(i), i) for i in idx], False
    raise NSTError(f"style must be None, an index, a list of indices or a dict index->weight, got {style!r}")


def style_label_name(label: int | dict[int, float], names: Sequence[str]) -> str:
    if isinstance(label, int):
        return names[label] if label < len(names) else f"style{label}"
    total = sum(label.values())
    return "+".join(f"{(names[k] if k < len(names) else k)}@{v / total:.2f}" for k, v in label.items() if v > 0)


def check_max_size(max_size: Any) -> None:
    """``max_size`` is None or an integer of at least `MIN_SIDE` (an `NSTError` otherwise)."""
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer))
                                 or max_size < MIN_SIDE):
        raise NSTError(f"max_size must be an integer of at least {MIN_SIDE} px (every method's minimum), "
                       f"got {max_size!r}")


def is_single_image(images: Any) -> bool:
    if isinstance(images, (str, os.PathLike)):
        return not Path(images).is_dir()
    return isinstance(images, (np.ndarray, PILImage.Image))


class Stylizer(abc.ABC):
    """Base class of the three generations: `GatysStylizer`, `JohnsonStylizer`, `DumoulinStylizer`."""

    method: ClassVar[str]

    @property
    @abc.abstractmethod
    def styles(self) -> list[str]:
        """Names of the styles this stylizer knows, by index."""

    @property
    def num_styles(self) -> int:
        return len(self.styles)

    def get_styles(self) -> list[str]:
        return list(self.styles)

    @abc.abstractmethod
    def stylize_one(self, image: np.ndarray, specs: Sequence[StyleSpec],
                    seed: int | None) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """Stylize one (H, W, 3) image once per spec: ``(output, details)`` pairs, in order."""

    def stylize(
        self,
        images: ImageLike | Iterable[ImageLike],
        style: StyleRequest = None,
        *,
        max_size: int | None = None,
        seed: int | None = None,
    ) -> np.ndarray | list[StylizedImage]:
        """Stylize ``images``; see the module docstring for ``style`` and the return type."""
        check_max_size(max_size)
        single_image = is_single_image(images)
        specs, single_style = resolve_styles(style, self.num_styles, self.styles)
        sources = expand_sources(images)
        results: list[StylizedImage] = []
        for ci, src in enumerate(sources):
            img = load_image(src, max_size=max_size)
            outs = self.stylize_one(img, specs, seed)
            for spec, (out, details) in zip(specs, outs):
                results.append(StylizedImage(out, ci, image_name(src, ci), spec.label,
                                             style_label_name(spec.label, self.styles), details))
        if single_image and single_style:
            return results[0].image
        return results

    def summary(self) -> str:
        return f"{type(self).__name__}: method={self.method}, styles={self.styles}"

    def __repr__(self) -> str:
        return self.summary()
