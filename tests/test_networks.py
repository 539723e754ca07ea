"""The transformer network and conditional instance norm."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nst.core.networks import ConditionalInstanceNorm, NetworkConfig, TransformerNet, count_params


def test_parameter_counts_width_1():
    c = count_params(TransformerNet(NetworkConfig(num_styles=1), nnx.Rngs(0)))
    assert c["conv"] == 1_674_432  # no conv biases
    assert c["per_style"] == 3_206 and c["norm"] == 3_206
    c3 = count_params(TransformerNet(NetworkConfig(num_styles=3), nnx.Rngs(0)))
    assert c3["conv"] == 1_674_432 and c3["norm"] == 3 * 3_206 and c3["per_style"] == 3_206


def test_width_multiplier_shrinks_network():
    half = count_params(TransformerNet(NetworkConfig(width=0.5), nnx.Rngs(0)))
    assert half["per_style"] == 2 * (16 + 32 + 64 + 10 * 64 + 32 + 16 + 3)
    assert half["conv"] < 1_674_432 / 3.5


def test_instance_norm_against_numpy(rng):
    x = rng.normal(2.0, 3.0, size=(2, 5, 6, 4)).astype(np.float32)
    norm = ConditionalInstanceNorm(4, 2)
    norm.scale[...] = jnp.asarray(rng.normal(size=(2, 4)), jnp.float32)
    norm.bias[...] = jnp.asarray(rng.normal(size=(2, 4)), jnp.float32)
    w = np.array([[1, 0], [0.25, 0.75]], np.float32)
    got = np.asarray(norm(jnp.asarray(x), jnp.asarray(w)))
    for b in range(2):
        mu = x[b].mean(axis=(0, 1))
        var = x[b].var(axis=(0, 1))  # biased
        gamma = w[b] @ np.asarray(norm.scale[...])
        beta = w[b] @ np.asarray(norm.bias[...])
        want = (x[b] - mu) / np.sqrt(var + 1e-5) * gamma + beta
        np.testing.assert_allclose(got[b], want, rtol=1e-4, atol=1e-4)


# fast-tier budget: one odd size stays in the fast tier, the larger odd one and the square one run in the full tier
@pytest.mark.parametrize("hw", [pytest.param((97, 131), marks=pytest.mark.slow),
                                pytest.param((64, 64), marks=pytest.mark.slow), (33, 50)])
def test_output_size_equals_input_size(hw):
    net = TransformerNet(NetworkConfig(width=0.25, num_residual=1), nnx.Rngs(0))
    y = net(jnp.full((1, *hw, 3), 0.5), jnp.ones((1, 1)))
    assert y.shape == (1, *hw, 3)
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def _perturbed(num_styles):
    net = TransformerNet(NetworkConfig(num_styles=num_styles, width=0.25, num_residual=1), nnx.Rngs(0))
    key = jax.random.PRNGKey(1)
    for path, var in nnx.to_flat_state(nnx.state(net, nnx.Param)):
        if "norm" in [str(p) for p in path]:
            key, sub = jax.random.split(key)
            var.set_value(var.get_value() + 0.3 * jax.random.normal(sub, var.get_value().shape))
    nnx.update(net, nnx.from_flat_state(nnx.to_flat_state(nnx.state(net, nnx.Param))))
    return net


def test_one_hot_blend_equals_index_selection_and_blends_are_continuous(rng):
    net = _perturbed(3)
    x = jnp.asarray(rng.uniform(size=(1, 40, 44, 3)), jnp.float32)
    outs = [np.asarray(net(x, jax.nn.one_hot(jnp.array([i]), 3))) for i in range(3)]
    assert np.abs(outs[0] - outs[1]).mean() > 1e-3  # styles differ
    blend = lambda w: np.asarray(net(x, jnp.asarray([w], jnp.float32)))  # noqa: E731
    np.testing.assert_array_equal(blend([0.0, 1.0, 0.0]), outs[1])
    mid = blend([0.5, 0.5, 0.0])
    change = [np.abs(blend([0.5 + d, 0.5 - d, 0.0]) - mid).max() for d in (0.001, 0.01, 0.1)]
    assert change[0] < change[1] < change[2]  # output moves continuously with the weights
    assert change[0] < 0.01 and change[0] < 0.2 * change[1]
    mid = blend([0.5, 0.5, 0.0])
    assert np.abs(mid - outs[0]).mean() < np.abs(outs[1] - outs[0]).mean()


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_inference_fast_path_matches_training_path(rng):
    net = _perturbed(2)
    x = jnp.asarray(rng.uniform(size=(2, 37, 53, 3)), jnp.float32)
    w = jnp.asarray([[1.0, 0.0], [0.3, 0.7]])
    np.testing.assert_allclose(np.asarray(net(x, w, inference=True)), np.asarray(net(x, w)), atol=2e-5)


# full tier (fast-tier budget): the fast tier keeps the residual-stage border test below, the stage stylize uses
@pytest.mark.slow
@pytest.mark.parametrize("hw", [(40, 48), (37, 53)])
def test_border_is_reflection_padding_cropped_off(rng, hw):
    net = _perturbed(1)
    x = rng.uniform(size=(1, *hw, 3)).astype(np.float32)
    w = jnp.ones((1, 1))
    b = 4
    y = np.asarray(net(jnp.asarray(x), w, border=b))
    assert y.shape == x.shape
    # the same picture padded by hand (to the network's multiple of 4 as well), run bare, cropped
    ph, pw = (-(hw[0] + 2 * b)) % 4, (-(hw[1] + 2 * b)) % 4
    xp = np.pad(x, ((0, 0), (b, b + ph), (b, b + pw), (0, 0)), mode="reflect")
    ref = np.asarray(net(jnp.asarray(xp), w))[:, b : b + hw[0], b : b + hw[1]]
    np.testing.assert_allclose(y, ref, atol=1e-6)
    assert np.abs(y - np.asarray(net(jnp.asarray(x), w))).max() > 1e-4  # and it is not the bare network


@pytest.mark.parametrize("hw", [(37, 45)])
def test_residual_stage_border_pads_the_quarter_resolution_map(rng, hw):
    from nst.core.networks import reflect_pad

    net = _perturbed(1)
    x = jnp.asarray(rng.uniform(size=(1, *hw, 3)).astype(np.float32))
    w = jnp.ones((1, 1))
    y = np.asarray(net(x, w, border=8, border_stage="residual"))
    assert y.shape == x.shape
    # by hand: the bare network with the residual stage run on the map reflect-padded by 2, cropped
    ph, pw = (-hw[0]) % 4, (-hw[1]) % 4
    z = jnp.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect")
    for layer in (net.conv1, net.conv2, net.conv3):
        z = jax.nn.relu(layer(z, w))
    z = reflect_pad(z, 2)
    for block in net.residuals:
        z = block(z, w)
    z = z[:, 2:-2, 2:-2, :]
    z = jax.nn.relu(net.up1(jnp.repeat(jnp.repeat(z, 2, 1), 2, 2), w))
    z = jax.nn.relu(net.up2(jnp.repeat(jnp.repeat(z, 2, 1), 2, 2), w))
    ref = np.asarray(jax.nn.sigmoid(net.out(z, w)))[:, : hw[0], : hw[1]]
    np.testing.assert_allclose(y, ref, atol=2e-5)
    assert np.abs(y - np.asarray(net(x, w))).max() > 1e-4
    np.testing.assert_array_equal(np.asarray(net(x, w, border=0, border_stage="residual")), np.asarray(net(x, w)))
    with pytest.raises(ValueError, match="multiple of 4"):
        net(x, w, border=6, border_stage="residual")


@pytest.mark.parametrize("hw", [(6, 6), (5, 7)])
def test_upsample_conv_is_conv_of_the_reflected_upsampled_picture(rng, hw):
    # The four-phase form against the literal definition, values and gradients.
    from nst.core.networks import reflect_pad, upsample_conv, upsample_nearest

    x = jnp.asarray(rng.standard_normal((2, *hw, 5)).astype(np.float32))
    k = jnp.asarray(rng.standard_normal((3, 3, 5, 4)).astype(np.float32))

    def literal(x, k):
        return jax.lax.conv_general_dilated(reflect_pad(upsample_nearest(x), 1), k, (1, 1), "VALID",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    np.testing.assert_allclose(np.asarray(upsample_conv(x, k)), np.asarray(literal(x, k)), rtol=1e-5, atol=1e-5)
    ct = jnp.asarray(rng.standard_normal((2, 2 * hw[0], 2 * hw[1], 4)).astype(np.float32))
    got = jax.vjp(upsample_conv, x, k)[1](ct)
    want = jax.vjp(literal, x, k)[1](ct)
    for g, w_ in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w_), rtol=1e-4, atol=1e-4)


def test_photo_logit_against_numpy(rng):
    from nst.core.networks import PHOTO_LOGIT_EPSILON, photo_logit

    x = rng.random((2, 5, 7, 3)).astype(np.float32)
    x[0, 0, 0] = [0.0, 1.0, 0.5]
    c = np.clip(x, PHOTO_LOGIT_EPSILON, 1 - PHOTO_LOGIT_EPSILON).astype(np.float64)
    np.testing.assert_allclose(np.asarray(photo_logit(jnp.asarray(x))), np.log(c / (1 - c)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("border,stage", [pytest.param(0, "input", marks=pytest.mark.slow),
                                          pytest.param(8, "input", marks=pytest.mark.slow), (8, "residual")])
def test_untrained_photo_residual_network_returns_the_photo_and_learns_from_it(rng, border, stage):
    """γ of the last norm starts at 0: the output is the photo (within the clip) whatever the other weights,
    and the loss still has a gradient (through that γ and β), so training can move away from it."""
    from nst.core.networks import PHOTO_LOGIT_EPSILON

    net = TransformerNet(NetworkConfig(width=0.25, num_residual=1, output="photo_residual"), nnx.Rngs(0))
    x = jnp.asarray(rng.random((2, 33, 50, 3)), jnp.float32)
    y = net(x, jnp.ones((2, 1)), border=border, border_stage=stage)
    np.testing.assert_allclose(np.asarray(y), np.clip(np.asarray(x), PHOTO_LOGIT_EPSILON, 1 - PHOTO_LOGIT_EPSILON),
                               atol=2e-6)
    sigmoid_net = TransformerNet(NetworkConfig(width=0.25, num_residual=1), nnx.Rngs(0))
    assert float(jnp.abs(sigmoid_net(x, jnp.ones((2, 1))) - x).mean()) > 0.1  # the papers' network draws anew
    graphdef, params = nnx.split(net, nnx.Param)
    grads = jax.grad(lambda p: jnp.mean((nnx.merge(graphdef, p)(x, jnp.ones((2, 1))) - 0.3) ** 2))(params)
    out = grads["out"]["norm"]
    assert float(jnp.abs(out["scale"][...]).max()) > 0 and float(jnp.abs(out["bias"][...]).max()) > 0
    # the fast inference path computes the same picture once the network has moved away from the photo
    net.out.norm.scale[...] = jnp.full_like(net.out.norm.scale[...], 0.7)
    np.testing.assert_allclose(np.asarray(net(x, jnp.ones((2, 1)), inference=True)),
                               np.asarray(net(x, jnp.ones((2, 1)))), atol=1e-5)


def test_unknown_network_output_is_refused():
    with pytest.raises(ValueError, match="output"):
        TransformerNet(NetworkConfig(width=0.25, output="tanh"), nnx.Rngs(0))
