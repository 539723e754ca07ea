"""`nst.create`: one entry point for the three generations, after Turi Create's
``style_transfer.create(style_dataset, content_dataset, max_iterations=...)``."""

from __future__ import annotations

from typing import Any, Iterable

from .errors import NSTError
from .images import ImageLike, expand_sources
from .stylizer import Stylizer

#: Methods by name; each entry builds a stylizer from (styles, content, verbose, options).
METHODS = ("gatys",)


def create(
    styles: ImageLike | Iterable[ImageLike] | str,
    content: ImageLike | Iterable[ImageLike] | None = None,
    method: str = "gatys",
    *,
    verbose: bool = True,
    **options: Any,
) -> Stylizer:
    """Create a stylizer for ``styles`` (a folder, files, arrays or a mix).

    ``method="gatys"`` returns a stylizer that optimises each image when
    `Stylizer.stylize` is called (``content`` is not needed; ``options`` are
    `nst.gatys.GatysConfig` fields such as ``steps``, ``size``,
    ``style_weight``).  The method may also be given first, as in
    ``nst.create("gatys", styles)``.
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

        unknown = set(options) - set(GatysConfig.__dataclass_fields__)
        if unknown:
            raise NSTError(f"unknown option(s) for gatys: {', '.join(sorted(unknown))}")
        return GatysStylizer(style_list, verbose=verbose, **options)
    raise NSTError(f"method {method!r} is not available")  # pragma: no cover - guarded above
