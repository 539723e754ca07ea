"""`nst.methods.optimizers`: torch's optim.lbfgs (linesearch="none") against a NumPy oracle."""

import jax.numpy as jnp
import numpy as np
import pytest

from nst.methods.optimizers import NEURAL_STYLE_PIXEL_SCALE, ImageOptimizer

SHAPE = (1, 3, 4, 3)
WELLS = np.linspace(0.5, 2.0, int(np.prod(SHAPE))).reshape(SHAPE)
WEIGHT = 1e4  # a gradient large enough that torch's steps in 0-255 units move a 0-1 image


def double_well(x, targets):
    """K (Σ (x² − a)² + 0.3 Σ x_i x_{i+1}): negative curvature near 0, so some L-BFGS pairs have s·y < 0."""
    flat = x.reshape(-1)
    return WEIGHT * (jnp.sum((x ** 2 - targets) ** 2) + 0.3 * jnp.sum(flat[1:] * flat[:-1]))


def numpy_torch_lbfgs(x, steps, memory, scale=NEURAL_STYLE_PIXEL_SCALE):
    """optim.lbfgs (torch 7) with neural-style's settings (tolX = tolFun = -1, no line search,
    learningRate 1), written out in float64; the first step and H0 = I in a ``scale``-times coarser pixel
    unit, as neural-style's 0-255 images are to ours."""
    def value_grad(v):
        flat = v.reshape(-1)
        g = 4 * v * (v ** 2 - WELLS)
        shift = np.zeros_like(flat)
        shift[:-1] += 0.3 * flat[1:]
        shift[1:] += 0.3 * flat[:-1]
        f = np.sum((v ** 2 - WELLS) ** 2) + 0.3 * np.sum(flat[1:] * flat[:-1])
        return float(WEIGHT * f), WEIGHT * (g + shift.reshape(v.shape))

    x = np.asarray(x, np.float64)
    f, g = value_grad(x)
    dirs, stps, hdiag, skipped, history = [], [], 1.0 / scale ** 2, 0, []  # torch's H0 = I on the 0-255 scale
    d = t = g_old = None
    for it in range(steps):
        if it == 0:
            d = -g
        else:
            y, s = (g - g_old).ravel(), (d * t).ravel()
            ys = y @ s
            if ys > 1e-10:
                if len(dirs) == memory:
                    dirs.pop(0), stps.pop(0)
                dirs.append(s), stps.append(y)
                hdiag = ys / (y @ y)
            else:
                skipped += 1
            q = -g.ravel()
            alphas = []
            for s_i, y_i in zip(reversed(dirs), reversed(stps)):
                alphas.append((s_i @ q) / (y_i @ s_i))
                q = q - alphas[-1] * y_i
            r = q * hdiag
            for s_i, y_i, a in zip(dirs, stps, reversed(alphas)):
                r = r + (a - (y_i @ r) / (y_i @ s_i)) * s_i
            d = r.reshape(g.shape)
        g_old = g
        if float(np.sum(g * d)) > 1.0:  # -tolX with tolX = -1
            break
        # first step: t = min(1, 1/‖g₂₅₅‖₁) on the 0-255 scale, i.e. min(1, P/‖g‖₁)/P² here
        t = min(1.0, scale / np.abs(g).sum()) / scale ** 2 if it == 0 else 1.0
        x = x + t * d
        f, g = value_grad(x)
        history.append(f)
    return np.asarray(history), skipped


@pytest.mark.parametrize("memory", [3, 100])
def test_linesearch_none_is_torchs_lbfgs(memory):
    x0 = np.full(SHAPE, 0.05) + 0.01 * np.arange(np.prod(SHAPE)).reshape(SHAPE)
    expected, skipped = numpy_torch_lbfgs(x0, 16, memory)
    assert skipped > 0  # the oracle left a negative-curvature pair out: the test exercises torch's rule
    opt = ImageOptimizer(double_well, "lbfgs", lbfgs_memory=memory, linesearch="none")
    x = jnp.asarray(x0, jnp.float32)
    targets = jnp.asarray(WELLS, jnp.float32)
    state, got = opt.init(x, targets), []
    for _ in range(16):
        x, state, value = opt.step(x, state, targets)
        got.append(float(value))
    np.testing.assert_allclose(got, expected, rtol=2e-4)
    assert expected[-1] < 0.5 * expected[0]  # and it does minimise

