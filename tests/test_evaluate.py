"""The evaluator's metrics against SciPy / NumPy oracles written independently from the formulas."""

import numpy as np
import pytest

from nst.evaluate import Evaluator, border_line_contrast, grid_artifact_energy, sliced_wasserstein_rgb, ssim

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
    from nst.io.images import load_image

    ev = Evaluator(vgg)
    content = load_image(content_path, size=64)
    style = load_image(style_path, size=64)
    same = ev(content, content, style)
    assert same["content"] == pytest.approx(0.0, abs=1e-3) and same["ssim"] == pytest.approx(1.0)
    assert set(same) == {"content", "style", "ssim", "color_swd", "tv", "grid"}
    styled = ev(np.clip(0.5 * content + 0.5 * load_image(style_path, size=content.shape[:2]), 0, 1), content, style)
    assert styled["style"] < same["style"] and styled["content"] > same["content"]
    assert styled["color_swd"] < same["color_swd"] and styled["ssim"] < same["ssim"]


def test_style_by_layer_adds_up_to_the_style_loss_and_matches_a_numpy_gram(vgg, content_path, style_path):
    from nst.evaluate import EVAL_STYLE_LAYERS
    from nst.io.images import load_image, resize_image

    ev = Evaluator(vgg)
    out = load_image(content_path, size=48)
    style = load_image(style_path, size=64)
    per = ev.style_by_layer(out, style, EVAL_STYLE_LAYERS + ("relu4_3",))
    assert sum(per[n] for n in EVAL_STYLE_LAYERS) == pytest.approx(ev(out, out, style)["style"], rel=1e-5)
    # NumPy oracle for one layer: G = FᵀF / M, E = mean((G − A)²), weight 1/5
    s = resize_image(style, max(out.shape[:2]))
    f = np.asarray(vgg(out[None], ("relu4_3",))["relu4_3"][0], np.float64).reshape(-1, 512)
    a = np.asarray(vgg(s[None], ("relu4_3",))["relu4_3"][0], np.float64).reshape(-1, 512)
    want = ((f.T @ f / len(f) - a.T @ a / len(a)) ** 2).mean() / 5
    assert per["relu4_3"] == pytest.approx(want, rel=1e-4)
    # the painting's Grams are cached per size: a second output reuses them and scores the same
    assert ev.style_by_layer(out, style, EVAL_STYLE_LAYERS + ("relu4_3",)) == per
    assert Evaluator(vgg).style_by_layer(out, style, ("relu4_3",))["relu4_3"] == pytest.approx(per["relu4_3"], rel=1e-6)
    assert len(ev._style_grams) == len(EVAL_STYLE_LAYERS) + 1


def _smooth(rng, shape):
    """Low-pass random field: a stand-in for a photo (its power is far from the 4-px lattice)."""
    from scipy.ndimage import gaussian_filter

    return np.stack([gaussian_filter(rng.random(shape[:2]), 4.0) for _ in range(shape[2])], -1)


def test_grid_artifact_energy_separates_grid_from_smooth_and_noise(rng):
    tile = rng.random((4, 4, 3))
    assert grid_artifact_energy(np.tile(tile, (24, 40, 1))) == pytest.approx(1.0, abs=1e-12)
    assert grid_artifact_energy(_smooth(rng, (96, 160, 3))) < 1e-3
    # white noise: the lattice's share of the frequency bins, 9 (p² - 1) / (H W)
    noise = np.mean([grid_artifact_energy(rng.random((96, 160, 3))) for _ in range(4)])
    assert noise == pytest.approx(9 * 15 / (96 * 160), rel=0.15)


def test_grid_artifact_energy_is_the_power_share_of_an_added_pattern(rng):
    smooth = _smooth(rng, (128, 128, 3))
    smooth = (smooth - smooth.mean((0, 1))) / smooth.std((0, 1))  # unit variance per channel
    tile = rng.normal(size=(4, 4, 3))
    pattern = np.tile(tile - tile.mean((0, 1)), (32, 32, 1))
    pattern /= pattern.std((0, 1))
    for share in (0.05, 0.3):
        mixed = np.sqrt(1 - share) * smooth + np.sqrt(share) * pattern
        assert grid_artifact_energy(mixed) == pytest.approx(share, abs=0.02)
    # a pattern along x only (constant down the image) is a grid too
    stripes = np.tile(rng.normal(size=(1, 4, 3)), (64, 32, 1))
    assert grid_artifact_energy(stripes) > 0.99
    with pytest.raises(ValueError, match="at least 8 px"):
        grid_artifact_energy(np.zeros((6, 64, 3)))


def test_border_line_contrast_finds_a_line_along_any_edge(rng):
    smooth = _smooth(rng, (96, 128, 3))
    base = border_line_contrast(smooth)
    assert 0.5 < base < 2.0
    for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
        lined = smooth.copy()
        lined[edge] = lined[edge] + 0.5  # a bright 1-px line along one side
        assert border_line_contrast(lined) > 5 * base
    with pytest.raises(ValueError, match="at least 20 px"):
        border_line_contrast(np.zeros((16, 64, 3)))
