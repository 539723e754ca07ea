"""Generation 1: short optimisations on small images that must lower the objective."""

import numpy as np
import pytest

from nst.core import color
from nst.errors import NSTError
from nst.methods.gatys import GatysConfig, gatys_transfer

SMALL = dict(size=64, steps=12)


def test_lbfgs_lowers_objective_and_moves_towards_style(vgg, content_path, style_path):
    res = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, **SMALL)
    assert res.image.shape == (43, 64, 3) and res.image.dtype == np.float32
    assert 0.0 <= res.image.min() and res.image.max() <= 1.0
    assert len(res.history) == 12
    assert res.history[-1] < 0.5 * res.history[0]
    assert all(b <= a * 1.0001 for a, b in zip(res.history, res.history[1:]))  # Armijo: monotone
    assert set(res.losses) == {"content", "style", "tv", "total"}


@pytest.mark.slow
def test_zoom_linesearch_and_adam_also_descend(vgg, content_path, style_path):
    zoom = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, linesearch="zoom", **SMALL)
    assert zoom.history[-1] < 0.5 * zoom.history[0]
    adam = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, optimizer="adam", learning_rate=0.05,
                          **SMALL)
    assert adam.history[-1] < 0.7 * adam.history[0]


def test_same_seed_same_result(vgg, content_path, style_path):
    a = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, init="noise", seed=3, size=48, steps=4)
    b = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, init="noise", seed=3, size=48, steps=4)
    c = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, init="noise", seed=4, size=48, steps=4)
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_mean_pixel_noise_is_neural_styles_random_start():
    # neural_style.lua: randn * 0.001 in the Caffe input space, so the VGG input of the start is that noise.
    from nst.core.vgg import preprocess
    from nst.methods.gatys import mean_pixel_noise

    x = mean_pixel_noise((40, 50, 3), seed=7)
    caffe = np.asarray(preprocess(x))
    z = np.random.default_rng(7).standard_normal((40, 50, 3))[..., ::-1]  # preprocess reorders to BGR
    np.testing.assert_allclose(caffe, 0.001 * z, atol=5e-5)  # float32 rounding of the start, on 0-255
    np.testing.assert_array_equal(x, mean_pixel_noise((40, 50, 3), seed=7))
    assert not np.array_equal(x, mean_pixel_noise((40, 50, 3), seed=8))


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_each_named_start_begins_the_optimisation_where_it_says(vgg, content_path, style_path):
    from nst.methods.gatys import INIT_STARTS, gatys_loss, mean_pixel_noise

    assert INIT_STARTS == ("content", "noise", "mean_pixel_noise")
    first = {init: gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, init=init, seed=2, size=48,
                                  steps=1).history[0] for init in INIT_STARTS}
    grey = gatys_loss(mean_pixel_noise((32, 48, 3), 2), content_path, style_path, vgg=vgg, size=48)["total"]
    assert first["mean_pixel_noise"] <= grey * 1.0001
    assert len({round(float(v), 3) for v in first.values()}) == 3  # three different starts


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_a_flat_start_never_takes_a_step_that_raises_the_objective(vgg, content_path, style_path):
    # From neural-style's near-constant start on a small image the L-BFGS line search can fail outright;
    # the optimiser restarts its history instead of accepting a worse point.
    res = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, init="mean_pixel_noise", size=32, steps=4)
    assert all(b <= a for a, b in zip(res.history, res.history[1:]))
    assert res.history[-1] < 0.5 * res.history[0]


@pytest.mark.slow  # full tier: three compilations; keeps the fast tier within its budget
def test_lbfgs_memory_changes_the_path_only_once_the_history_is_full(vgg, content_path, style_path):
    run = lambda memory: gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, size=32, steps=5,  # noqa: E731
                                        lbfgs_memory=memory).history
    short, default, long = run(2), run(10), run(100)
    assert short[:2] == pytest.approx(default[:2], rel=1e-5) and short[-1] != pytest.approx(default[-1], rel=1e-5)
    assert long == pytest.approx(default, rel=1e-5)  # 5 steps fit in both histories


def test_init_from_an_image_array_starts_there(vgg, content_path, style_path):
    # An array start (e.g. a feedforward model's output): the first objective is that image's.
    from nst.io.images import load_image
    from nst.methods.gatys import gatys_loss

    start = np.asarray(load_image(style_path, size=(43, 64)))
    res = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, init=start, size=64, steps=1)
    at_start = gatys_loss(start, content_path, style_path, vgg=vgg)["total"]
    at_content = gatys_loss(load_image(content_path, size=(43, 64)), content_path, style_path, vgg=vgg)["total"]
    assert res.history[0] <= at_start * 1.0001 and abs(at_start - at_content) > 0.01 * at_content


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_style_blend_weights_interpolate_objective(vgg, content_path, style_path):
    import jax
    import jax.numpy as jnp

    from nst.methods.gatys import gatys_objective, gatys_targets
    from nst.io.images import load_image
    from tests.conftest import DATA

    wave = DATA / "styles" / "hokusai_great_wave.jpg"
    # the objective, at a fixed image: blend weights (1 - u, u) give (1 - u)·L_a + u·L_b (content and TV
    # terms are shared), and weight 0 drops a style, down to the gradient every optimiser step follows
    cfg = GatysConfig(size=48)
    content = load_image(content_path, size=48)
    styles = [load_image(style_path, size=48), load_image(wave, size=48)]
    x = jnp.asarray(content)[None] + 0.05 * jax.random.normal(jax.random.PRNGKey(0), (1, *content.shape))

    def value_and_grad(style_images, blend):
        t = gatys_targets(vgg, content, style_images, np.asarray(blend, np.float32), cfg)
        v, g = jax.value_and_grad(lambda z: gatys_objective(z, vgg, t, cfg)[0])(x)
        return float(v), np.asarray(g)

    va, ga = value_and_grad(styles[:1], [1.0])
    vb, _ = value_and_grad(styles[1:], [1.0])
    for u in (0.25, 0.5):
        assert value_and_grad(styles, [1 - u, u])[0] == pytest.approx((1 - u) * va + u * vb, rel=1e-5)
    v0, g0 = value_and_grad(styles, [1.0, 0.0])
    assert v0 == pytest.approx(va, rel=1e-6)
    np.testing.assert_allclose(g0, ga, rtol=1e-4, atol=1e-5 * np.abs(ga).max())
    assert abs(va - vb) > 0.01 * va  # the two styles do differ
    # end to end, one step: the same image.  (Over several L-BFGS steps the two programs' rounding
    # differences, ~1e-7, grow — its curvature pairs amplify them — so longer runs are not compared.)
    only_a = gatys_transfer(content_path, [style_path, wave], [1.0, 0.0], vgg=vgg, verbose=False, size=48, steps=1)
    single = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, size=48, steps=1)
    np.testing.assert_allclose(only_a.image, single.image, atol=1e-5)
    with pytest.raises(NSTError, match="blend weights"):
        gatys_transfer(content_path, [style_path, wave], [0.0, 0.0], vgg=vgg, verbose=False, size=48, steps=1)


def test_luminance_preservation_keeps_content_chrominance(vgg, content_path, style_path):
    from nst.io.images import load_image

    res = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, preserve_color="luminance", size=48,
                         steps=4)
    content = load_image(content_path, size=48)
    got, want = color.rgb_to_yiq(res.image)[..., 1:], color.rgb_to_yiq(content)[..., 1:]
    # chroma comes from the content (up to clipping into [0, 1])
    assert np.abs(got - want).mean() < 0.02


def test_histogram_matching_matches_moments(rng):
    src = rng.uniform(0.2, 0.6, size=(30, 30, 3)).astype(np.float32) * np.array([1.0, 0.5, 0.2], np.float32)
    tgt = rng.uniform(0.3, 0.7, size=(20, 25, 3)).astype(np.float32)
    out = color.match_color_histogram(src, tgt)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), tgt.reshape(-1, 3).mean(0), atol=2e-3)
    np.testing.assert_allclose(np.cov(out.reshape(-1, 3), rowvar=False), np.cov(tgt.reshape(-1, 3), rowvar=False),
                               atol=2e-3)


def test_multiscale_and_callback(vgg, content_path, style_path):
    seen = []
    res = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, size=96, steps=3, scales=2,
                         callback=lambda step, img, loss: seen.append((step, img.shape)), callback_every=2)
    assert res.image.shape == (64, 96, 3) and len(res.history) == 6
    assert [s for s, _ in seen] == [2, 4, 6]
    assert seen[0][1] == (32, 48, 3) and seen[-1][1] == (64, 96, 3)  # coarse first, then fine


def test_config_validation():
    for bad in (dict(optimizer="sgd"), dict(steps=0), dict(size=8), dict(preserve_color="sepia"),
                dict(style_weight=-1.0), dict(content_layers=("relu9_1",)), dict(linesearch="exact")):
        with pytest.raises(NSTError):
            GatysConfig(**bad).validate()


def test_gatys_loss_scores_any_image_on_the_same_objective(vgg, content_path, style_path):
    from nst.methods.gatys import gatys_loss

    res = gatys_transfer(content_path, style_path, vgg=vgg, verbose=False, size=48, steps=3)
    scored = gatys_loss(res.image, content_path, style_path, vgg=vgg, size=48)
    # the result image is clipped to [0, 1] before scoring, so allow a small difference
    assert scored["total"] == pytest.approx(res.history[-1], rel=0.05)
    from nst.io.images import load_image

    photo = load_image(content_path, size=48)
    assert gatys_loss(photo, content_path, style_path, vgg=vgg)["content"] == pytest.approx(0.0, abs=1e-3)


def test_vgg_padding_sets_the_loss_network_whatever_network_is_passed(vgg, content_path, style_path):
    """``vgg_padding`` is the config's: a zero-padded VGG passed in is used with the configured padding."""
    from nst.io.images import load_image
    from nst.methods.gatys import gatys_loss

    image = load_image(content_path, size=(43, 64))[::-1]  # any image other than the photo
    given_zero = gatys_loss(image, content_path, style_path, vgg=vgg, vgg_padding="reflect")["total"]
    given_reflect = gatys_loss(image, content_path, style_path, vgg=vgg.with_padding("reflect"),
                               vgg_padding="reflect")["total"]
    papers = gatys_loss(image, content_path, style_path, vgg=vgg.with_padding("reflect"))["total"]
    assert given_zero == pytest.approx(given_reflect, rel=1e-6)
    assert papers == pytest.approx(gatys_loss(image, content_path, style_path, vgg=vgg)["total"], rel=1e-6)
    assert abs(papers / given_zero - 1) > 1e-3
    with pytest.raises(NSTError, match="padding must be 'zero' or 'reflect'"):
        GatysConfig(vgg_padding="none").validate()
