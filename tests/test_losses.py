"""Each loss against a NumPy oracle written from the formula in nst.losses."""

import jax.numpy as jnp
import numpy as np
import pytest

from nst.core.losses import content_loss, gram_loss, gram_matrix, style_loss, total_variation_loss


def np_gram(f):  # f: (H, W, C) -> (C, C), normalised by H*W
    m = f.reshape(-1, f.shape[-1]).astype(np.float64)
    return m.T @ m / m.shape[0]


def test_gram_matrix(rng):
    f = rng.normal(size=(2, 5, 7, 4)).astype(np.float32)
    g = np.asarray(gram_matrix(jnp.asarray(f)))
    assert g.shape == (2, 4, 4)
    for b in range(2):
        np.testing.assert_allclose(g[b], np_gram(f[b]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g[b], g[b].T, rtol=1e-6)  # symmetric


def test_gram_is_size_invariant_for_tiled_features(rng):
    f = rng.normal(size=(1, 4, 4, 3)).astype(np.float32)
    tiled = np.tile(f, (1, 2, 3, 1))  # same statistics, 6x the positions
    np.testing.assert_allclose(np.asarray(gram_matrix(jnp.asarray(tiled))), np.asarray(gram_matrix(jnp.asarray(f))),
                               rtol=1e-5)


def test_content_loss(rng):
    a, b = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 4, 5))
    got = np.asarray(content_loss(jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)))
    np.testing.assert_allclose(got, ((a - b) ** 2).mean(axis=(1, 2, 3)), rtol=1e-5)


def test_style_loss_weighted_sum_over_layers(rng):
    feats = {"a": rng.normal(size=(2, 4, 4, 3)), "b": rng.normal(size=(2, 2, 2, 5))}
    targets = {"a": rng.normal(size=(1, 4, 4, 3)), "b": rng.normal(size=(1, 2, 2, 5))}
    weights = {"a": 0.25, "b": 0.75}
    tg = {k: gram_matrix(jnp.asarray(v, jnp.float32)) for k, v in targets.items()}
    got = np.asarray(style_loss({k: jnp.asarray(v, jnp.float32) for k, v in feats.items()}, tg, weights))
    want = np.zeros(2)
    for b in range(2):
        for k in feats:
            d = np_gram(feats[k][b]) - np_gram(targets[k][0])
            want[b] += weights[k] * (d ** 2).mean()
    np.testing.assert_allclose(got, want, rtol=1e-4)
    # default weights: equal, summing to one
    got_eq = np.asarray(style_loss({k: jnp.asarray(v, jnp.float32) for k, v in feats.items()}, tg))
    want_eq = sum(0.5 * np.asarray(gram_loss(gram_matrix(jnp.asarray(feats[k], jnp.float32)), tg[k])) for k in feats)
    np.testing.assert_allclose(got_eq, want_eq, rtol=1e-5)


def test_total_variation(rng):
    x = rng.uniform(size=(2, 6, 5, 3))
    want = ((x[:, 1:] - x[:, :-1]) ** 2).mean(axis=(1, 2, 3)) + ((x[:, :, 1:] - x[:, :, :-1]) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(np.asarray(total_variation_loss(jnp.asarray(x, jnp.float32))), want, rtol=1e-5)
    flat = np.full((1, 8, 8, 3), 0.3, np.float32)
    assert float(total_variation_loss(jnp.asarray(flat))[0]) == 0.0


def test_objective_blend_is_the_mix_of_losses_and_one_hot_skips_an_exact_zero(vgg, rng):
    """Σ_k m_k E(G, A_k) (NumPy oracle, layer by layer) equals the objective's identity-based style term;
    with one-hot rows the skipped spread term changes nothing."""
    import jax.numpy as jnp
    import numpy as np

    from nst.core.objective import PerceptualObjective

    obj = PerceptualObjective(("relu2_2",), ("relu1_1", "relu2_1"), (0.3, 0.7), 1.0, 2.0, 0.0)
    x = jnp.asarray(rng.random((2, 40, 40, 3)), jnp.float32)
    styles = [rng.random((40, 40, 3)).astype(np.float32) for _ in range(3)]
    grams = obj.style_targets(vgg, styles)
    content = obj.content_targets(vgg, x[::-1])
    mix = jnp.asarray([[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]], jnp.float32)
    style = np.asarray(obj.terms(vgg, x, content, grams, mix)["style"])
    feats = vgg(x, list(obj.style_layers))
    for b in range(2):
        oracle = 0.0
        for name, w in zip(obj.style_layers, obj.layer_weights):
            f = np.asarray(feats[name][b], np.float64).reshape(-1, feats[name].shape[-1])
            g = f.T @ f / len(f)
            oracle += w * sum(float(mix[b, k]) * ((g - np.asarray(grams[name][k], np.float64)) ** 2).mean()
                              for k in range(3))
        assert style[b] == pytest.approx(2.0 * oracle, rel=1e-4)
    hot = jnp.asarray([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], jnp.float32)
    np.testing.assert_array_equal(np.asarray(obj.terms(vgg, x, content, grams, hot)["style"]),
                                  np.asarray(obj.terms(vgg, x, content, grams, hot, one_hot=True)["style"]))


def test_gram_gradient_is_the_closed_form(rng):
    # The custom VJP against a NumPy oracle: dL/dF = F (Ḡ + Ḡᵀ) / M, with a non-symmetric Ḡ.
    import jax

    f = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)
    g_bar = rng.standard_normal((2, 4, 4)).astype(np.float32)
    _, vjp = jax.vjp(gram_matrix, jnp.asarray(f))
    (got,) = vjp(jnp.asarray(g_bar))
    flat = f.reshape(2, 15, 4)
    expected = np.einsum("bmi,bij->bmj", flat, g_bar + g_bar.transpose(0, 2, 1)) / 15
    np.testing.assert_allclose(np.asarray(got), expected.reshape(f.shape), rtol=1e-5, atol=1e-6)
    # and against autodiff of the plain formula
    plain = jax.grad(lambda x: (jnp.einsum("bmi,bmj->bij", x.reshape(2, 15, 4), x.reshape(2, 15, 4)) / 15
                                * g_bar).sum())(jnp.asarray(f))
    np.testing.assert_allclose(np.asarray(got), np.asarray(plain), rtol=1e-5, atol=1e-6)
