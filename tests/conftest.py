from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


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
