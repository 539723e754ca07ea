"""nst: three generations of neural style transfer behind one interface.

* generation 1, Gatys et al. 2016 — `nst.methods.gatys` (optimise the image);
* generation 2, Johnson et al. 2016 — `nst.interface.feedforward.JohnsonStylizer` (one network per style);
* generation 3, Dumoulin et al. 2017 — `nst.interface.feedforward.DumoulinStylizer` (one network, many styles);
* the common interface — `nst.Stylizer`, `nst.create`, `nst.load`.

Data flows one way through the sub-packages (each imports only those before it):

``io`` (files, images, model files, weights, training photos) → ``core`` (VGG19, losses, the one
perceptual objective, the transformer network, colour) → ``methods`` (Gatys optimisation,
feedforward training), ``export``, ``evaluate`` → ``interface`` (the `Stylizer` classes) →
``api``, ``cli``, ``demo``.  ``recipes`` holds the papers' settings.
"""

from __future__ import annotations

from . import xla_flags  # noqa: E402  (first: it must run before JAX starts)

xla_flags.configure()  # YNNPACK off on XLA:CPU (see nst/xla_flags.py)

from . import compat  # noqa: E402

compat.install()  # the module paths before the sub-packages, deprecated

from .api import METHODS, create, load  # noqa: E402
from .errors import NSTError  # noqa: E402
from .interface.base import StylizedImage, Stylizer  # noqa: E402
from .io.images import load_image, save_image  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ["METHODS", "NSTError", "StylizedImage", "Stylizer", "create", "load", "load_image", "save_image", "__version__"]
