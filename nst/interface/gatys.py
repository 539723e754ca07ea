"""Generation 1 behind the common interface: `GatysStylizer`, an optimisation per `stylize` call."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import NSTError
from ..io.images import ImageLike, image_name, load_image
from ..methods.gatys import GatysConfig, gatys_transfer
from .base import StyleSpec, Stylizer

#: ``callback(step, image, loss)``, called during an optimisation (see `GatysStylizer`)
StepCallback = Callable[[int, np.ndarray, float], None]


class GatysStylizer(Stylizer):
    """Every `stylize` call runs `nst.methods.gatys.gatys_transfer`; there is nothing to train or save.

    ``nst.create("gatys", styles, steps=300, size=256)``.  A dict ``style`` blends the style
    *losses*.  ``callback(step, image, loss)`` is called every ``callback_every`` steps and after
    the last one (``nst stylize --save-every`` uses it).  Each output's ``details`` hold the
    optimisation's ``seconds``, ``losses`` (final weighted terms) and ``history``.
    """

    method = "gatys"

    def __init__(self, styles: Sequence[ImageLike], config: GatysConfig | None = None, verbose: bool = True, *,
                 callback: StepCallback | None = None, callback_every: int = 0, **overrides: Any):
        if not styles:
            raise NSTError("a Gatys stylizer needs at least one style image")
        if callback_every < 0:
            raise NSTError(f"callback_every must be 0 or positive, got {callback_every}")
        self.config = replace(config or GatysConfig(), **overrides).validate()
        self._style_images = [load_image(s) for s in styles]
        self._style_names = [image_name(s, i) if not isinstance(s, np.ndarray) else f"style{i}"
                             for i, s in enumerate(styles)]
        self.verbose = verbose
        self.callback, self.callback_every = callback, callback_every

    @property
    def styles(self) -> list[str]:
        return list(self._style_names)

    def stylize_one(self, image: np.ndarray, specs: Sequence[StyleSpec],
                    seed: int | None) -> list[tuple[np.ndarray, dict[str, Any]]]:
        outs = []
        for spec in specs:
            used = [i for i, w in enumerate(spec.weights) if w > 0]
            res = gatys_transfer(image, [self._style_images[i] for i in used], [spec.weights[i] for i in used],
                                 self.config, verbose=self.verbose, callback=self.callback,
                                 callback_every=self.callback_every,
                                 seed=self.config.seed if seed is None else seed)
            outs.append((res.image, {"seconds": res.seconds, "losses": res.losses, "history": res.history,
                                     "compile_seconds": res.compile_seconds}))
        return outs

    def summary(self) -> str:
        c = self.config
        return (f"GatysStylizer: styles={self.styles}, optimizer={c.optimizer}, steps={c.steps}, size={c.size}, "
                f"content_weight={c.content_weight}, style_weight={c.style_weight}, tv_weight={c.tv_weight}")
