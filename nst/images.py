"""Image input/output with Pillow.

Every image inside nst is a float32 NumPy array (H, W, 3), RGB in [0, 1].
`load_image` turns whatever Pillow can open into that: EXIF orientation is
applied, grayscale / palette / CMYK / 16-bit images become RGB, and
transparent images are composited on white.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import NSTError
from .fileio import atomic_path

MIN_SIDE = 32
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")

ImageLike = Union[str, os.PathLike, np.ndarray, Image.Image]


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    """Pillow image of any mode → float32 RGB (H, W, 3) in [0, 1]."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(img, dtype=np.float64)
        scale = 65535.0 if mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        a = np.clip(a / scale, 0.0, 1.0)
        return np.repeat(a[..., None], 3, axis=2).astype(np.float32)
    if mode == "F":
        a = np.asarray(img, dtype=np.float32)
        a = np.clip(a / 255.0 if a.max(initial=0) > 1 else a, 0.0, 1.0)
        return np.repeat(a[..., None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return np.asarray(img, dtype=np.float32) / 255.0


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize float RGB (H, W, 3) to (height, width) with a Lanczos filter, per channel in float."""
    h, w = size
    if a.shape[:2] == (h, w):
        return a
    chans = [np.asarray(Image.fromarray(a[..., c]).resize((w, h), Image.Resampling.LANCZOS)) for c in range(3)]
    return np.clip(np.stack(chans, axis=-1), 0.0, 1.0).astype(np.float32)


def scaled_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(H, W) scaled so the longer side is ``long_side``, aspect ratio kept, each side ≥ 1."""
    s = long_side / max(height, width)
    return max(1, round(height * s)), max(1, round(width * s))


def resize_image(image: np.ndarray, size: int | tuple[int, int] | None = None, max_size: int | None = None) -> np.ndarray:
    """Resize: ``size`` an int sets the long side, a (H, W) pair sets both; ``max_size`` only shrinks."""
    h, w = image.shape[:2]
    if isinstance(size, int):
        target = scaled_size(h, w, size)
    elif size is not None:
        target = (int(size[0]), int(size[1]))
    else:
        target = (h, w)
    if max_size is not None and max(target) > max_size:
        target = scaled_size(*target, max_size)
    return _resize(image, target)


def load_image(
    source: ImageLike, size: int | tuple[int, int] | None = None, max_size: int | None = None
) -> np.ndarray:
    """Load an image file (or convert an array / Pillow image) to float32 RGB in [0, 1].

    A missing, truncated or non-image file, or one under 32 px on a side, raises
    `NSTError` naming the file.
    """
    if isinstance(source, np.ndarray):
        a = np.asarray(source)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        if a.ndim != 3 or a.shape[2] not in (3, 4):
            raise NSTError(f"image array must be (H, W, 3), got shape {a.shape}")
        a = a[..., :3]
        a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
        name = "image array"
    elif isinstance(source, Image.Image):
        a, name = _to_rgb_array(ImageOps.exif_transpose(source)), "image"
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise NSTError(f"{name}: no such file")
        if path.is_dir():
            raise NSTError(f"{name}: is a directory, not an image")
        try:
            with Image.open(path) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                a = _to_rgb_array(img)
        except UnidentifiedImageError:
            raise NSTError(f"{name}: not an image file Pillow can read") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise NSTError(f"{name}: unreadable or truncated image ({e})") from None
    if min(a.shape[:2]) < MIN_SIDE:
        raise NSTError(f"{name}: image is {a.shape[1]}x{a.shape[0]} px; nst needs at least {MIN_SIDE} px on each side")
    if not np.isfinite(a).all():
        raise NSTError(f"{name}: image contains NaN or infinite values")
    return resize_image(np.clip(a, 0.0, 1.0), size, max_size)


def to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_image(image: np.ndarray, path: str | os.PathLike, quality: int = 95) -> Path:
    """Save float RGB in [0, 1] as PNG or JPEG (by suffix), atomically."""
    path = Path(path)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
           ".tiff": "TIFF"}.get(path.suffix.lower())
    if fmt is None:
        raise NSTError(f"{path}: unknown output image format {path.suffix!r} (use .png or .jpg)")
    img = Image.fromarray(to_uint8(image))
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return path


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NSTError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise NSTError(f"{folder}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def expand_sources(sources: ImageLike | Iterable[ImageLike]) -> list[ImageLike]:
    """A folder, a file, an array, or a list of those → flat list of images (folders expanded)."""
    if isinstance(sources, (str, os.PathLike, np.ndarray, Image.Image)):
        sources = [sources]
    out: list[ImageLike] = []
    for s in sources:
        if isinstance(s, (str, os.PathLike)) and Path(s).is_dir():
            out.extend(list_images(s))
        else:
            out.append(s)
    if not out:
        raise NSTError("no images given")
    return out


def image_name(source: ImageLike, index: int) -> str:
    """A short human name for an image source: the file stem, or image{index}."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).stem
    return f"image{index}"


def image_grid(rows: Sequence[Sequence[np.ndarray]], cell: int = 256, pad: int = 4) -> np.ndarray:
    """Tile images into a grid (white padding); each cell is letterboxed to ``cell``×``cell``."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    out = np.ones((n_rows * (cell + pad) + pad, n_cols * (cell + pad) + pad, 3), np.float32)
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            if im is None:
                continue
            h, w = scaled_size(*im.shape[:2], cell)
            small = _resize(np.asarray(im, np.float32), (h, w))
            y = pad + i * (cell + pad) + (cell - h) // 2
            x = pad + j * (cell + pad) + (cell - w) // 2
            out[y : y + h, x : x + w] = small
    return out
