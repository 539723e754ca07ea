"""`nst.create` and `nst.load`: one entry point for the three generations, after Turi Create's
``style_transfer.create(style_dataset, content_dataset, max_iterations=...)``."""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any, Iterable

from .errors import NSTError
from .interface.base import Stylizer
from .interface.feedforward import FeedforwardStylizer
from .interface.feedforward import load as load_model
from .io.files import default_content_dir
from .io.images import ImageLike, expand_sources
from .recipes import with_recipe

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

    ``options`` are `nst.methods.training.TrainConfig` fields (``image_size``, ``style_weight``,
    ``width``, ``seed``, ``checkpoint_every``…) plus ``checkpoint``/``resume``, or, for gatys,
    `nst.methods.gatys.GatysConfig` fields (``steps``, ``size``…) plus ``callback`` and
    ``callback_every``.  ``recipe`` (`nst.recipes`) sets layers and weights from a paper first;
    explicit options win over it.  The method may also be given first: ``nst.create("gatys", styles)``.
    """
    if isinstance(styles, str) and styles in METHODS:
        if content is None:
            raise NSTError("nst.create(method, styles): no styles given")
        method, styles, content = styles, content, None
    if method not in METHODS:
        raise NSTError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    style_list = expand_sources(styles)
    if method == "gatys":
        from .interface.gatys import GatysStylizer
        from .methods.gatys import GatysConfig

        hooks = {k: options.pop(k) for k in ("callback", "callback_every") if k in options}
        check_options(options, GatysConfig, "gatys")
        options = with_recipe(options, "gatys")
        if max_iterations is not None:
            options["steps"] = max_iterations
        return GatysStylizer(style_list, GatysConfig(**options).validate(), verbose=verbose, **hooks)

    from .interface.feedforward import stylizer_from_training
    from .methods.training import TrainConfig, train

    run_opts = {k: options.pop(k) for k in ("checkpoint", "resume", "breakdown", "vgg") if k in options}
    check_options(options, TrainConfig, method)
    options = with_recipe(options, "train")
    if max_iterations is not None:
        options["max_iterations"] = max_iterations
    if batch_size:
        options["batch_size"] = batch_size
    if content is None:
        content = default_content_dir()
    if not isinstance(content, (str, os.PathLike)):
        content = [str(p) for p in expand_sources(content)]
    cfg = TrainConfig(**{**options, "method": method})
    res = train(style_list, content, cfg, verbose=verbose, **run_opts)
    return stylizer_from_training(res.model, res.meta, res.history)


def check_options(options: dict[str, Any], config: type, method: str) -> None:
    """Refuse options that are not fields of ``config`` (a dataclass), naming them."""
    unknown = set(options) - {f.name for f in fields(config)}
    if unknown:
        raise NSTError(f"unknown option(s) for {method}: {', '.join(sorted(unknown))}")


def load(path: str | os.PathLike) -> FeedforwardStylizer:
    """Load a model file written by ``model.save`` or ``nst train``; returns the right stylizer."""
    return load_model(path)
