r"""Colour preservation (Gatys, Ecker, Bethge, Hertzmann & Shechtman 2017,
"Controlling Perceptual Factors in Neural Style Transfer", section 5).

Two ways to keep the content photo's colours:

* **luminance-only transfer**: style transfer runs on luminance alone (the
  style's luminance first matched to the content's mean and standard
  deviation); the output's luminance is then recombined with the content's
  chrominance in YIQ space.
* **colour histogram matching**: before transfer, the style image's pixels are
  mapped by an affine transform :math:`x' = A x + b` so their mean and
  covariance equal the content's, with
  :math:`A = \Sigma_c^{1/2} \Sigma_s^{-1/2}` (symmetric matrix square roots).
"""

from __future__ import annotations

import numpy as np

# NTSC YIQ (FCC 1953 definition, as in the paper's reference to YIQ).
_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]], dtype=np.float64
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)

COLOR_MODES = ("luminance", "histogram")


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    return (np.asarray(image, np.float64) @ _RGB_TO_YIQ.T).astype(np.float32)


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    return (np.asarray(image, np.float64) @ _YIQ_TO_RGB.T).astype(np.float32)


def luminance(image: np.ndarray) -> np.ndarray:
    """Y channel (H, W) of an RGB image."""
    return rgb_to_yiq(image)[..., 0]


def luminance_image(image: np.ndarray, match_to: np.ndarray | None = None) -> np.ndarray:
    """Grey RGB image of the luminance; optionally matched to ``match_to``'s luminance mean and std."""
    y = luminance(image).astype(np.float64)
    if match_to is not None:
        t = luminance(match_to).astype(np.float64)
        y = (y - y.mean()) * (t.std() / max(y.std(), 1e-8)) + t.mean()
    return np.repeat(np.clip(y, 0.0, 1.0)[..., None], 3, axis=2).astype(np.float32)


def combine_luminance(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Output luminance (Y of ``stylized``) with the content's chrominance (I, Q)."""
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = luminance(stylized)
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0)


def _sqrtm_psd(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    vals = np.maximum(vals, 1e-8)
    p = -0.5 if inverse else 0.5
    return (vecs * vals**p) @ vecs.T


def match_color_histogram(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Affinely map ``source``'s colours so their mean and covariance equal ``target``'s."""
    s = np.asarray(source, np.float64).reshape(-1, 3)
    t = np.asarray(target, np.float64).reshape(-1, 3)
    mu_s, mu_t = s.mean(0), t.mean(0)
    a = _sqrtm_psd(np.cov(t, rowvar=False)) @ _sqrtm_psd(np.cov(s, rowvar=False), inverse=True)
    out = (s - mu_s) @ a.T + mu_t
    return np.clip(out, 0.0, 1.0).reshape(source.shape).astype(np.float32)
