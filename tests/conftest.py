import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

# An experiment run in a test that reads a committed file its `reads` does not declare fails
# (experiments.provenance): the quick presets check every experiment's declaration this way.
os.environ.setdefault("NST_STRICT_INPUTS", "1")


@pytest.fixture(scope="session")
def vgg():
    from nst.core.vgg import VGG19

    return VGG19.pretrained()


@pytest.fixture(scope="session")
def content_path():
    return DATA / "content" / "eval" / "kodak_kodim23.jpg"


@pytest.fixture(scope="session")
def style_path():
    return DATA / "styles" / "vangogh_starry_night.jpg"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def tiny_stylizer(num_styles: int, seed: int = 0, output: str = "sigmoid"):
    """A width-0.25 network whose per-style γ/β differ, so a wrong style or blend shows (no training);
    ``output`` is `NetworkConfig.output` (a photo_residual one's last γ is random too, so it is not the photo)."""
    from flax import nnx

    from nst.core.networks import NetworkConfig, TransformerNet
    from nst.interface.feedforward import DumoulinStylizer, JohnsonStylizer

    cfg = NetworkConfig(num_styles=num_styles, width=0.25, output=output)
    model = TransformerNet(cfg, nnx.Rngs(seed))
    rng = np.random.default_rng(seed)
    for _, norm in nnx.iter_graph(model):
        if type(norm).__name__ == "ConditionalInstanceNorm":
            s, c = norm.scale[...].shape
            norm.scale[...] = (1 + 0.3 * rng.standard_normal((s, c))).astype(np.float32)
            norm.bias[...] = (0.2 * rng.standard_normal((s, c))).astype(np.float32)
    meta = {"method": "dumoulin" if num_styles > 1 else "johnson", "network": cfg.to_dict(),
            "styles": [f"style{i}" for i in range(num_styles)], "iterations": 7}
    cls = DumoulinStylizer if num_styles > 1 else JohnsonStylizer
    return cls(model, meta)
