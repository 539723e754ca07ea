"""The evaluator's metrics against SciPy / NumPy oracles written independently from the formulas."""

import numpy as np
import pytest

from nst.evaluate import Evaluator, sliced_wasserstein_rgb, ssim

scipy_ndimage = pytest.importorskip("scipy.ndimage")
scipy_stats = pytest.importorskip("scipy.stats")


def ssim_oracle(x, y):
    """Wang et al. 2004 with scipy's Gaussian filter (truncate so the window has 11 taps), valid interior."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    f = lambda a: scipy_ndimage.gaussian_filter(a, 1.5, truncate=5 / 1.5, mode="constant")  # noqa: E731
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return s[5:-5, 5:-5].mean()


def test_ssim_matches_scipy_oracle(rng):
    x = rng.uniform(size=(40, 50))
    y = np.clip(x + rng.normal(0, 0.1, size=x.shape), 0, 1)
    assert ssim(x, y) == pytest.approx(ssim_oracle(x, y), rel=1e-9)
    assert ssim(x, x) == pytest.approx(1.0)
    assert ssim(x, 1 - x) < 0


def test_sliced_wasserstein_matches_scipy_in_one_dimension(rng):
    a = rng.uniform(size=(30, 30, 3))
    b = rng.uniform(0.2, 0.9, size=(20, 25, 3))
    # Along a fixed direction d, the 1-D W1 distance of projections is scipy's wasserstein_distance;
    # our estimate averages such distances over directions, evaluated at 4096 quantiles.
    rng2 = np.random.default_rng(0)
    dirs = rng2.normal(size=(64, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    want = np.mean([scipy_stats.wasserstein_distance(a.reshape(-1, 3) @ d, b.reshape(-1, 3) @ d) for d in dirs])
    assert sliced_wasserstein_rgb(a, b) == pytest.approx(want, rel=0.02)
    assert sliced_wasserstein_rgb(a, a) == pytest.approx(0.0, abs=1e-12)
    shifted = np.clip(a + 0.1, 0, 2)
    assert sliced_wasserstein_rgb(a, shifted) > sliced_wasserstein_rgb(a, a + 0.01)


def test_evaluator_orders_content_and_style(vgg, content_path, style_path):
    from nst.images import load_image

    ev = Evaluator(vgg)
    content = load_image(content_path, size=64)
    style = load_image(style_path, size=64)
    same = ev(content, content, style)
    assert same["content"] == pytest.approx(0.0, abs=1e-3) and same["ssim"] == pytest.approx(1.0)
    assert set(same) == {"content", "style", "ssim", "color_swd", "tv"}
    styled = ev(np.clip(0.5 * content + 0.5 * load_image(style_path, size=content.shape[:2]), 0, 1), content, style)
    assert styled["style"] < same["style"] and styled["content"] > same["content"]
    assert styled["color_swd"] < same["color_swd"] and styled["ssim"] < same["ssim"]
