"""`nst.create` and `nst.load`: one entry point for the three generations, after Turi Create's
``style_transfer.create(style_dataset, content_dataset, max_iterations=...)``."""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any, Iterable

from .errors import NSTError
from .images import ImageLike, expand_sources
from .stylizer import Stylizer

METHODS = ("gatys", "johnson", "dumoulin")


def create(
    styles: ImageLike | Iterable[ImageLike] | str,
    content: ImageLike | Iterable[ImageLike] | str | None = None,
    method: str = "dumoulin",
    max_iterations: int | None = None,
    batch_size: int | None = None,
    *,
    verbose: bool = True,
    **options: Any,
) -> Stylizer:
    """Create a stylizer for ``styles`` (a folder, files, arrays or a mix).

    * ``method="dumoulin"`` (default, Turi Create's model): train one network for all styles on
      ``content`` (a folder or a list of image files; default ``data/content/train``).
    * ``method="johnson"``: train one network for one style.
    * ``method="gatys"``: no training; each `Stylizer.stylize` call optimises the image.

    ``options`` are `nst.train.TrainConfig` fields (``image_size``, ``style_weight``, ``width``,
    ``seed``, ``checkpoint_every``…) or, for gatys, `nst.gatys.GatysConfig` fields (``steps``,
    ``size``…).  The method may also be given first: ``nst.create("gatys", styles)``.
    """
    if isinstance(styles, str) and styles in METHODS:
        if content is None:
            raise NSTError("nst.create(method, styles): no styles given")
        method, styles, content = styles, content, None
    if method not in METHODS:
        raise NSTError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    style_list = expand_sources(styles)
    if method == "gatys":
        from .gatys import GatysConfig, GatysStylizer

        unknown = set(options) - {f.name for f in fields(GatysConfig)}
        if unknown:
            raise NSTError(f"unknown option(s) for gatys: {', '.join(sorted(unknown))}")
        if max_iterations is not None:
            options["steps"] = max_iterations
        return GatysStylizer(style_list, verbose=verbose, **options)

    from .feedforward import _default_content_dir, stylizer_from_training
    from .train import TrainConfig, train

    unknown = set(options) - {f.name for f in fields(TrainConfig)} - {"checkpoint", "resume", "breakdown", "vgg"}
    if unknown:
        raise NSTError(f"unknown option(s) for {method}: {', '.join(sorted(unknown))}")
    if content is None:
        content = _default_content_dir()
    if not isinstance(content, (str, os.PathLike)):
        content = [str(p) for p in expand_sources(content)]
    train_opts = {k: options.pop(k) for k in ("checkpoint", "resume", "breakdown", "vgg") if k in options}
    cfg = TrainConfig(method=method, max_iterations=max_iterations,
                      **({"batch_size": batch_size} if batch_size else {}), **options)
    res = train(style_list, content, cfg, verbose=verbose, **train_opts)
    return stylizer_from_training(res.model, res.meta, res.history)


def load(path: str | os.PathLike) -> Stylizer:
    """Load a model file written by `Stylizer.save` or ``nst train``; returns the right stylizer."""
    from .feedforward import load as _load

    return _load(path)
