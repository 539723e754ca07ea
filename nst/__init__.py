"""nst: three generations of neural style transfer behind one interface.

* generation 1, Gatys et al. 2016 — `nst.gatys` (optimise the image);
* generation 2, Johnson et al. 2016 — `nst.feedforward.JohnsonStylizer` (one network per style);
* generation 3, Dumoulin et al. 2017 — `nst.feedforward.DumoulinStylizer` (one network, many styles);
* the common interface — `nst.Stylizer`, `nst.create`, `nst.load`.

Networks (`nst.networks`) and training (`nst.train`) are shared by generations 2 and 3.

The VGG19 loss network (`nst.vgg`), the losses (`nst.losses`) and image I/O
(`nst.images`) are shared by every method.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import xla_flags  # noqa: E402  (first: it must run before JAX starts)

xla_flags.configure()  # YNNPACK off on XLA:CPU (see nst/xla_flags.py)

from .api import METHODS, create, load  # noqa: E402
from .errors import NSTError
from .images import load_image, save_image
from .stylizer import StylizedImage, Stylizer

__all__ = ["METHODS", "NSTError", "StylizedImage", "Stylizer", "create", "load", "load_image", "save_image", "__version__"]
