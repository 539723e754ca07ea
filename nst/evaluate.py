r"""One evaluator for every method: quality metrics that do not depend on a method's own settings.

All metrics take float RGB images (H, W, 3) in [0, 1].

* ``content`` and ``style``: the two terms of `nst.core.objective.PerceptualObjective` with unit
  weights (α = β = 1): content at VGG19 relu4_2 (Gatys' content layer), output vs the content
  photo at the output's size (lower keeps more of the photo); style over relu1_1 … relu5_1 with
  equal layer weights, output vs the style image resized so its long side equals the output's
  (lower is closer to the painting's texture).
* ``ssim``: SSIM (Wang, Bovik, Sheikh & Simoncelli 2004) between the luminance (Y of YIQ) of the
  output and of the content photo: Gaussian window σ = 1.5 (11 taps), K1 = 0.01, K2 = 0.03, data
  range 1, mean over the valid interior.  1 = identical structure.
* ``color_swd``: sliced Wasserstein-1 distance between the RGB pixel distributions of output and
  style: the mean over ``n_projections`` fixed random unit directions of the mean absolute
  difference of sorted projections (both sampled at 4096 quantiles).  0 = same palette.
* ``tv``: `nst.core.losses.total_variation_loss` of the output.
* ``grid``: `grid_artifact_energy` with period 4, the share of the output's spectral power on a
  4-px grid — the "dotted" or checkerboard texture a transformer network with two stride-2 stages
  can learn.  Photos score below 1e-3; a pure 4-px pattern scores 1.

The VGG layers and normalisation are fixed here on purpose, so that Gatys, Johnson and Dumoulin
outputs are scored on one ruler whatever their own training layers were.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from .core.color import luminance
from .io.images import resize_image
from .core.losses import gram_loss, gram_matrix, total_variation_loss
from .core.objective import PerceptualObjective
from .core.vgg import VGG19

EVAL_CONTENT_LAYER = "relu4_2"
EVAL_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: the evaluator's fixed ruler: the shared objective with unit weights and no TV term
EVAL_OBJECTIVE = PerceptualObjective((EVAL_CONTENT_LAYER,), EVAL_STYLE_LAYERS, None, 1.0, 1.0, 0.0)
SSIM_SIGMA, SSIM_TAPS, SSIM_K1, SSIM_K2 = 1.5, 11, 0.01, 0.03


def _gaussian_kernel(sigma: float = SSIM_SIGMA, taps: int = SSIM_TAPS) -> np.ndarray:
    x = np.arange(taps) - (taps - 1) / 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def _filter_valid(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D array with a 1-D kernel along both axes."""
    n = len(k)
    rows = sum(k[i] * a[i : a.shape[0] - n + 1 + i, :] for i in range(n))
    return sum(k[j] * rows[:, j : rows.shape[1] - n + 1 + j] for j in range(n))


def ssim(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM of two 2-D arrays (Gaussian window, valid interior)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or min(x.shape) < SSIM_TAPS:
        raise ValueError(f"SSIM needs equal shapes of at least {SSIM_TAPS} px, got {x.shape} and {y.shape}")
    k = _gaussian_kernel()
    mx, my = _filter_valid(x, k), _filter_valid(y, k)
    sxx = _filter_valid(x * x, k) - mx**2
    syy = _filter_valid(y * y, k) - my**2
    sxy = _filter_valid(x * y, k) - mx * my
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return float(s.mean())


def sliced_wasserstein_rgb(a: np.ndarray, b: np.ndarray, n_projections: int = 64, quantiles: int = 4096,
                           seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between the RGB distributions of two images."""
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(n_projections, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    q = (np.arange(quantiles) + 0.5) / quantiles
    pa = np.asarray(a, np.float64).reshape(-1, 3) @ dirs.T
    pb = np.asarray(b, np.float64).reshape(-1, 3) @ dirs.T
    qa = np.quantile(pa, q, axis=0)
    qb = np.quantile(pb, q, axis=0)
    return float(np.abs(qa - qb).mean())


def grid_artifact_energy(image: np.ndarray, period: int = 4) -> float:
    r"""Share of an image's spectral power that sits on a ``period``-pixel grid, averaged over channels.

    For each channel x (mean removed) with power spectrum :math:`P = |\mathrm{FFT}(x)|^2`:

    .. math::  g = \sum_{(u,v) \in \Lambda} P(u, v) \,/\, \sum_{(u,v) \ne 0} P(u, v)

    where Λ holds the frequency bins within ±1 bin of :math:`(a H/p, b W/p)` for integers a, b
    not both 0: every harmonic of a pattern that repeats every p pixels down and across (a
    pattern along x only, constant along y, counts too).  The ±1 bins around the origin are
    the image's own lowest frequencies and are left out of Λ.  A tile repeated exactly gives 1;
    natural photos below 1e-3; white noise the lattice's share of the bins, 9(p² - 1)/(H W).
    Our own diagnostic, not from a paper.
    """
    a = np.asarray(image, np.float64)
    if a.ndim == 2:
        a = a[..., None]
    h, w = a.shape[:2]
    if min(h, w) < 2 * period:
        raise ValueError(f"grid_artifact_energy needs at least {2 * period} px per side, got {h}x{w}")
    mask = np.zeros((h, w), bool)
    for i in range(period):
        for j in range(period):
            cy, cx = round(i * h / period), round(j * w / period)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    mask[(cy + dy) % h, (cx + dx) % w] = True
    for dy in (-1, 0, 1):  # the origin's neighbourhood is the image's own low frequencies, not a grid
        for dx in (-1, 0, 1):
            mask[dy % h, dx % w] = False
    shares = []
    for c in range(a.shape[2]):
        x = a[..., c] - a[..., c].mean()
        p = np.abs(np.fft.fft2(x)) ** 2
        total = p.sum() - p[0, 0]
        shares.append(float(p[mask].sum() / total) if total > 0 else 0.0)
    return float(np.mean(shares))


def border_line_contrast(image: np.ndarray, depth: int = 2, interior: int = 8) -> float:
    r"""How much an image's outermost rows/columns differ from their neighbours, relative to its inside.

    For each side, with :math:`d_r` the mean absolute difference between row r and row r + 1
    counted from that side (over the row's pixels and channels):

    .. math::  c = \max_{\text{sides}} \; \max_{r < \text{depth}} d_r \,/\, \operatorname{median}_{r \ge \text{interior}} d_r

    About 1 where the border looks like the rest of the picture; a line drawn along an edge (as
    some trained transformer networks draw a 1–2 px coloured one) gives several.  Photos vary
    (a dark frame or a sharp edge at the border scores high too), so compare an image with
    itself under a change, as results/border does.  Our own diagnostic, not from a paper.
    """
    a = np.asarray(image, np.float64)
    if a.ndim == 2:
        a = a[..., None]
    if min(a.shape[:2]) < 2 * interior + 4:
        raise ValueError(f"border_line_contrast needs at least {2 * interior + 4} px per side, got "
                         f"{a.shape[0]}x{a.shape[1]}")
    worst = 0.0
    for side in (a, a[::-1], a.transpose(1, 0, 2), a.transpose(1, 0, 2)[::-1]):
        d = np.abs(np.diff(side, axis=0)).mean(axis=(1, 2))
        ref = float(np.median(d[interior:-interior]))
        if ref > 0:
            worst = max(worst, float(d[:depth].max()) / ref)
    return worst


@dataclass
class Evaluator:
    """Scores stylized images; holds the VGG19 network so repeated calls share it."""

    vgg: VGG19
    #: (style digest, size, layer) -> the style's Gram, so scoring many outputs against one painting
    #: runs the painting through VGG once per size
    _style_grams: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def create(cls) -> "Evaluator":
        return cls(VGG19.pretrained("max"))

    def __call__(self, output: np.ndarray, content: np.ndarray, style: np.ndarray) -> dict[str, float]:
        out = np.clip(np.asarray(output, np.float32), 0, 1)
        content = resize_image(np.asarray(content, np.float32), out.shape[:2])
        grams = self._painting_grams(style, max(out.shape[:2]), EVAL_OBJECTIVE.style_layers)
        style = resize_image(np.asarray(style, np.float32), max(out.shape[:2]))  # for the palette distance
        x = jnp.asarray(out)[None]
        terms = EVAL_OBJECTIVE.terms(self.vgg, x, EVAL_OBJECTIVE.content_targets(self.vgg, jnp.asarray(content)[None]),
                                     grams, jnp.ones((1,), jnp.float32))
        c, s = float(terms["content"][0]), float(terms["style"][0])
        return {
            "content": c,
            "style": s,
            "ssim": ssim(luminance(out), luminance(content)),
            "color_swd": sliced_wasserstein_rgb(out, style),
            "tv": float(total_variation_loss(jnp.asarray(out)[None])[0]),
            "grid": grid_artifact_energy(out),
        }

    def style_by_layer(self, output: np.ndarray, style: np.ndarray,
                       layers: tuple[str, ...] = EVAL_STYLE_LAYERS) -> dict[str, float]:
        r"""The style term layer by layer: :math:`w_\ell E_\ell` with the evaluator's equal weights (1/5).

        On ``EVAL_STYLE_LAYERS`` the values sum to ``self(...)["style"]``.  Other VGG layers (for
        example a training recipe's relu4_3) are scored with the same weight and style image, so a
        network's per-layer distance to a Gatys result can be read on the layers it was trained on too.
        """
        out = np.clip(np.asarray(output, np.float32), 0, 1)
        grams = self._painting_grams(style, max(out.shape[:2]), layers)
        fo = self.vgg(jnp.asarray(out)[None], layers)
        w = 1.0 / len(EVAL_STYLE_LAYERS)
        return {n: w * float(gram_loss(gram_matrix(fo[n]), grams[n])[0]) for n in layers}

    def _painting_grams(self, style: np.ndarray, size: int, layers: tuple[str, ...]) -> dict[str, jnp.ndarray]:
        """The painting's Gram per layer, resized to a long side of ``size``, each (1, C, C); computed once per
        painting, size and layer and kept, since one painting is scored against many outputs."""
        style = np.ascontiguousarray(style, np.float32)
        digest = hashlib.sha1(style.tobytes() + str(style.shape).encode()).hexdigest()
        missing = tuple(n for n in layers if (digest, size, n) not in self._style_grams)
        if missing:
            fs = self.vgg(jnp.asarray(resize_image(style, size))[None], missing)
            self._style_grams.update({(digest, size, n): gram_matrix(fs[n]) for n in missing})
        return {n: self._style_grams[digest, size, n] for n in layers}
