r"""The feedforward image transformation network (Flax NNX), shared by generations 2 and 3.

Architecture of Johnson et al. 2016 as refined by Ulyanov et al. 2016 (instance
norm) and Dumoulin et al. 2017 (upsample + conv instead of transposed conv) —
the network Magenta and Apple's Turi Create ("resnet-16") use:

====================================  ==========  ========
layer                                 channels    stride
====================================  ==========  ========
9×9 conv, norm, ReLU                  3 → 32      1
3×3 conv, norm, ReLU                  32 → 64     2
3×3 conv, norm, ReLU                  64 → 128    2
5 × residual block (3×3 conv, norm,   128         1
ReLU, 3×3 conv, norm; + input)
nearest ×2, 3×3 conv, norm, ReLU      128 → 64    1
nearest ×2, 3×3 conv, norm, ReLU      64 → 32     1
9×9 conv, norm, sigmoid               32 → 3      1
====================================  ==========  ========

``output="photo_residual"`` (not in the papers; issue #13's open question) ends instead in
:math:`y = \sigma(z + \operatorname{logit}(\operatorname{clip}(x, \epsilon_p, 1 - \epsilon_p)))`, with z the last
norm's output and x the photo: the picture starts from the photo and the network learns what to
change, in logit space so the output stays in (0, 1).  The last norm's scale starts at 0 (as the
zero-initialised γ of Goyal et al. 2017 and ReZero, Bachlechner et al. 2020), so an untrained network
returns the photo (to the clip, ε_p = `PHOTO_LOGIT_EPSILON`).  Same layers, same parameters.

Reflection padding before every conv; no conv bias (a norm follows every
conv); 16 norm layers.  Channel counts scale with ``width`` (Magenta's
``alpha``).  At width 1 the convs hold 1,674,432 weights.

Normalisation is `ConditionalInstanceNorm` (Dumoulin et al. 2017):

.. math::  z = \gamma_s \frac{x - \mu(x)}{\sqrt{\sigma^2(x) + \epsilon}} + \beta_s

with per-style rows :math:`\gamma, \beta \in \mathbb{R}^{S \times C}` (init 1 and 0),
ε = 1e-5, biased variance over each image's H×W.  With S = 1 it is Ulyanov's
instance norm with a learned affine (Johnson's network); styles blend by a
weight vector w: :math:`\gamma = \sum_i w_i \gamma_i`, :math:`\beta = \sum_i w_i \beta_i`.
Per style that is 2 × (32+64+128+10·128+64+32+3) = 3,206 parameters at width 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
from flax import nnx

IN_EPSILON = 1e-5
# Reflection added when stylizing (`TransformerNet.__call__`): without it the networks draw a 1–2 px
# coloured line along the image border.  At the input, 16 px removed it where 4 and 8 left traces
# (results/border); around the residual blocks' quarter-resolution map, 8 px (2 positions there)
# does as well at a third of the input border's cost (results/bench_border), so that is the default.
STYLIZE_BORDER = 8
#: Where the border is added: "input" (around the picture, every layer pays for it) or "residual"
#: (around the quarter-resolution map the residual blocks see, cropped off after them; the border
#: must then be a multiple of 4 px).  results/bench_border measures both.
STYLIZE_BORDER_STAGE = "residual"
BORDER_STAGES = ("input", "residual")
#: What the last layer's output is: "sigmoid" (the papers' network: the picture is drawn from nothing) or
#: "photo_residual" (a change to the photo in logit space; see the module docstring)
OUTPUTS = ("sigmoid", "photo_residual")
# The photo is clipped to [ε, 1 − ε] before its logit: the change needed to paint over a saturated pixel
# stays within reach of the last norm's output (logit 0.01 ≈ −4.6) where 1/255 would put it at −5.5.
PHOTO_LOGIT_EPSILON = 0.01


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of a transformer network; stored in every model file."""

    num_styles: int = 1
    width: float = 1.0
    num_residual: int = 5
    output: str = "sigmoid"  # one of OUTPUTS

    def channels(self) -> tuple[int, int, int]:
        c = lambda n: max(1, int(round(n * self.width)))  # noqa: E731
        return c(32), c(64), c(128)

    def to_dict(self) -> dict:
        return asdict(self)


class ConditionalInstanceNorm(nnx.Module):
    """Instance norm whose scale and shift are chosen (or blended) per batch element."""

    def __init__(self, num_features: int, num_styles: int):
        self.scale = nnx.Param(jnp.ones((num_styles, num_features), jnp.float32))
        self.bias = nnx.Param(jnp.zeros((num_styles, num_features), jnp.float32))

    def __call__(self, x: jax.Array, style_weights: jax.Array) -> jax.Array:
        """x: (B, H, W, C); style_weights: (B, S), one-hot to select, convex to blend."""
        mean = x.mean(axis=(1, 2), keepdims=True)
        var = ((x - mean) ** 2).mean(axis=(1, 2), keepdims=True)  # biased, as in the papers
        xhat = (x - mean) * jax.lax.rsqrt(var + IN_EPSILON)
        gamma = style_weights @ self.scale[...]
        beta = style_weights @ self.bias[...]
        return xhat * gamma[:, None, None, :] + beta[:, None, None, :]


def photo_logit(x: jax.Array) -> jax.Array:
    """logit(clip(x, ε, 1 − ε)) with ε = `PHOTO_LOGIT_EPSILON`: where a photo_residual network starts."""
    x = jnp.clip(x, PHOTO_LOGIT_EPSILON, 1 - PHOTO_LOGIT_EPSILON)
    return jnp.log(x) - jnp.log1p(-x)


def reflect_pad(x: jax.Array, pad: int) -> jax.Array:
    if pad == 0:
        return x
    return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")


def conv_few_outputs(xp: jax.Array, kernel: jax.Array) -> jax.Array:
    """A VALID stride-1 conv with few output channels, as one matmul plus shifted adds.

    z = x · K reshaped to (C_in, kh·kw·C_out), then out = Σ_{dy,dx} z[dy:, dx:, (dy, dx)].
    XLA:CPU runs the final 9×9 32→3 conv of the network slowly as a plain convolution (few
    output channels leave its vector units idle); this form is faster than both Eigen's and
    YNNPACK's convolution (measured in results/profile_xla_cpu).
    Inference only: its gradient through the shifted slices is very slow.
    """
    kh, kw, cin, cout = kernel.shape
    n, hp, wp, _ = xp.shape
    h, w = hp - kh + 1, wp - kw + 1
    z = (xp @ kernel.transpose(2, 0, 1, 3).reshape(cin, kh * kw * cout)).reshape(n, hp, wp, kh * kw, cout)
    out = z[:, 0:h, 0:w, 0, :]
    for k in range(1, kh * kw):
        dy, dx = divmod(k, kw)
        out = out + z[:, dy : dy + h, dx : dx + w, k, :]
    return out


def upsample_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """``conv3×3(reflect_pad(upsample_nearest(x), 1), kernel)`` (VALID), computed at the low resolution.

    After a nearest ×2 upsampling each output pixel sees only 2×2 distinct input pixels, so the
    3×3 kernel folds into four 2×2 kernels, one per output phase (a, b): rows i−1, i for a = 0 take
    (w₀, w₁ + w₂), rows i, i+1 for a = 1 take (w₀ + w₁, w₂), and the same for columns.  Reflecting
    the upsampled picture by one pixel equals repeating the edge of ``x``.  Same sums in another
    order (equal to float rounding), 4/9 of the multiply-adds and no upsampled copy in memory.
    """
    n, h, w, _ = x.shape
    xe = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    taps = {0: (lambda k: (k[0], k[1] + k[2])), 1: (lambda k: (k[0] + k[1], k[2]))}
    phases = []
    for a in (0, 1):
        rows = jnp.stack(taps[a](kernel))  # (2, 3, Cin, Cout)
        for b in (0, 1):
            k2 = jnp.stack(taps[b](jnp.moveaxis(rows, 1, 0)), axis=1)  # (2, 2, Cin, Cout)
            phases.append(jax.lax.conv_general_dilated(xe[:, a : a + h + 1, b : b + w + 1, :], k2.astype(x.dtype),
                                                       (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")))
    out = jnp.stack(phases).reshape(2, 2, n, h, w, -1)  # (a, b, N, H, W, C)
    return out.transpose(2, 3, 0, 4, 1, 5).reshape(n, 2 * h, 2 * w, -1)


class ConvNorm(nnx.Module):
    """Reflection pad → conv (no bias) → conditional instance norm."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, num_styles: int, rngs: nnx.Rngs):
        self.pad = kernel // 2
        self.conv = nnx.Conv(cin, cout, (kernel, kernel), strides=stride, padding="VALID", use_bias=False,
                             rngs=rngs)
        self.norm = ConditionalInstanceNorm(cout, num_styles)

    def __call__(self, x: jax.Array, w: jax.Array, inference: bool = False) -> jax.Array:
        xp = reflect_pad(x, self.pad)
        kernel = self.conv.kernel[...]
        if inference and self.pad >= 3 and kernel.shape[-1] <= 4 and self.conv.strides in (1, (1, 1)):
            return self.norm(conv_few_outputs(xp, kernel.astype(xp.dtype)), w)
        return self.norm(self.conv(xp), w)

    def upsampled(self, x: jax.Array, w: jax.Array) -> jax.Array:
        """``self(upsample_nearest(x), w)`` for a 3×3 stride-1 layer, via `upsample_conv`."""
        return self.norm(upsample_conv(x, self.conv.kernel[...]), w)


class ResidualBlock(nnx.Module):
    def __init__(self, channels: int, num_styles: int, rngs: nnx.Rngs):
        self.a = ConvNorm(channels, channels, 3, 1, num_styles, rngs)
        self.b = ConvNorm(channels, channels, 3, 1, num_styles, rngs)

    def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
        return x + self.b(jax.nn.relu(self.a(x, w)), w)  # no activation after the add


def upsample_nearest(x: jax.Array) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class TransformerNet(nnx.Module):
    """Image → stylized image, same size, RGB in [0, 1].  ``style_weights`` (B, S) picks/blends styles."""

    def __init__(self, config: NetworkConfig, rngs: nnx.Rngs):
        self.config = config
        c1, c2, c3 = config.channels()
        s = config.num_styles
        self.conv1 = ConvNorm(3, c1, 9, 1, s, rngs)
        self.conv2 = ConvNorm(c1, c2, 3, 2, s, rngs)
        self.conv3 = ConvNorm(c2, c3, 3, 2, s, rngs)
        blocks = [ResidualBlock(c3, s, rngs) for _ in range(config.num_residual)]
        self.residuals = nnx.List(blocks) if hasattr(nnx, "List") else blocks  # older Flax: plain list
        self.up1 = ConvNorm(c3, c2, 3, 1, s, rngs)
        self.up2 = ConvNorm(c2, c1, 3, 1, s, rngs)
        self.out = ConvNorm(c1, 3, 9, 1, s, rngs)
        if config.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, not {config.output!r}")
        if config.output == "photo_residual":  # an untrained network returns the photo
            self.out.norm.scale = nnx.Param(jnp.zeros_like(self.out.norm.scale[...]))

    def __call__(self, images: jax.Array, style_weights: jax.Array, inference: bool = False,
                 border: int = 0, border_stage: str = "input") -> jax.Array:
        """``inference=True`` picks forward-only fast paths (same result to float rounding).

        ``border`` > 0 keeps the network's own edge effects (a 1–2 px coloured line along the top and
        bottom in some trained models) out of the picture with reflection padding that is cropped off
        again.  ``border_stage="input"`` pads the picture by ``border`` px on every side;
        ``"residual"`` pads only the quarter-resolution map around the residual blocks, by
        ``border // 4`` (``border`` a multiple of 4), and crops it after them, so the full-resolution
        layers do not pay for it.  Stylizing uses `STYLIZE_BORDER`, training 0.
        """
        if border_stage not in BORDER_STAGES:
            raise ValueError(f"border_stage must be one of {BORDER_STAGES}, not {border_stage!r}")
        n, h, w, _ = images.shape
        b = int(border) if border_stage == "input" else 0
        mid = int(border) // 4 if border_stage == "residual" else 0
        if border_stage == "residual" and int(border) % 4:
            raise ValueError(f"a residual-stage border is a multiple of 4 px, not {border}")
        # Two stride-2 convs then two ×2 upsamplings: also pad (after) to a multiple of 4, crop back.
        ph, pw = (-(h + 2 * b)) % 4, (-(w + 2 * b)) % 4
        x = images
        if b or ph or pw:
            x = jnp.pad(images, ((0, 0), (b, b + ph), (b, b + pw), (0, 0)), mode="reflect")
        sw = style_weights.astype(x.dtype)
        photo = x
        x = jax.nn.relu(self.conv1(x, sw))
        x = jax.nn.relu(self.conv2(x, sw))
        x = jax.nn.relu(self.conv3(x, sw))
        x = reflect_pad(x, mid)
        for block in self.residuals:
            x = block(x, sw)
        if mid:
            x = x[:, mid:-mid, mid:-mid, :]
        x = jax.nn.relu(self.up1.upsampled(x, sw))  # = self.up1(upsample_nearest(x), sw), cheaper
        x = jax.nn.relu(self.up2.upsampled(x, sw))
        z = self.out(x, sw, inference)
        if self.config.output == "photo_residual":
            z = z + photo_logit(photo)
        x = jax.nn.sigmoid(z)
        return x[:, b : b + h, b : b + w, :]


def count_params(model: nnx.Module) -> dict[str, int]:
    """Conv weights, norm parameters, norm parameters per style, total."""
    state = nnx.state(model, nnx.Param)
    conv = norm = 0
    for path, leaf in nnx.to_flat_state(state):
        size = int(leaf.get_value().size) if hasattr(leaf, "get_value") else int(leaf.value.size)
        if "norm" in [str(p) for p in path]:
            norm += size
        else:
            conv += size
    s = model.config.num_styles
    return {"conv": conv, "norm": norm, "per_style": norm // s, "total": conv + norm}
