"""Image input/output with Pillow.

Every image inside nst is a float32 NumPy array (H, W, 3), RGB in [0, 1].
`load_image` turns whatever Pillow can open into that: EXIF orientation is
applied, grayscale / palette / CMYK / 16-bit images become RGB, and
transparent images are composited on white.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import NSTError
from .files import atomic_path

MIN_SIDE = 32
#: Largest image (width × height, read from the file's header before decoding) that `load_image`
#: accepts; ``NST_MAX_PIXELS`` raises or lowers it.  A 100-megapixel photo decodes to 1.2 GB at
#: float32 before any resizing, so larger ones are refused unless the user asks.
DEFAULT_MAX_PIXELS = 100_000_000
#: Files above this many pixels decode at a reduced resolution when the output is much smaller
#: (`load_image`); smaller ones decode in full, so "load at size S" equals "load, then resize to S".
REDUCED_DECODE_ABOVE = 16_000_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")

ImageLike = Union[str, os.PathLike, np.ndarray, Image.Image]


def to_rgb_array(img: Image.Image) -> np.ndarray:
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


def target_size(height: int, width: int, size: int | tuple[int, int] | None = None,
                max_size: int | None = None) -> tuple[int, int]:
    """The (H, W) `resize_image` gives an image of height × width (see there)."""
    if isinstance(size, int):
        target = scaled_size(height, width, size)
    elif size is not None:
        target = (int(size[0]), int(size[1]))
    else:
        target = (height, width)
    if max_size is not None and max(target) > max_size:
        target = scaled_size(*target, max_size)
    return target


def resize_image(image: np.ndarray, size: int | tuple[int, int] | None = None, max_size: int | None = None) -> np.ndarray:
    """Resize: ``size`` an int sets the long side, a (H, W) pair sets both; ``max_size`` only shrinks."""
    return _resize(image, target_size(*image.shape[:2], size, max_size))


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
        a, name = to_rgb_array(ImageOps.exif_transpose(source)), "image"
    else:
        path, name = _existing_file(source)
        a, (h, w) = _decode_file(path, name, _target_side(size, max_size))
        # the output size comes from the file's own size, whatever resolution it was decoded at
        return _resize(np.clip(a, 0.0, 1.0), target_size(h, w, size, max_size))
    if min(a.shape[:2]) < MIN_SIDE:
        raise NSTError(f"{name}: image is {a.shape[1]}x{a.shape[0]} px; nst needs at least {MIN_SIDE} px on each side")
    if not np.isfinite(a).all():
        raise NSTError(f"{name}: image contains NaN or infinite values")
    return resize_image(np.clip(a, 0.0, 1.0), size, max_size)


def max_pixels() -> int:
    """The pixel limit in force: ``$NST_MAX_PIXELS`` if set (a positive integer), else `DEFAULT_MAX_PIXELS`."""
    text = os.environ.get("NST_MAX_PIXELS", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        raise NSTError(f"NST_MAX_PIXELS={text!r} is not a number of pixels") from None
    if value < MIN_SIDE * MIN_SIDE:
        raise NSTError(f"NST_MAX_PIXELS={text!r} is below {MIN_SIDE}×{MIN_SIDE}")
    return value


def _target_side(size: int | tuple[int, int] | None, max_size: int | None) -> int | None:
    """The longest side the caller will keep, if known: decoding may stop at about that resolution."""
    sides = [s for s in (max(size) if isinstance(size, tuple) else size, max_size) if s]
    return min(sides) if sides else None


def _existing_file(source: str | os.PathLike) -> tuple[Path, str]:
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise NSTError(f"{name}: no such file")
    if path.is_dir():
        raise NSTError(f"{name}: is a directory, not an image")
    return path, name


def _open_without_pillow_limit(path: Path) -> Image.Image:
    """``Image.open`` (header only) with Pillow's pixel limit off: our own limit (`max_pixels`) replaces it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_size(w: int, h: int, name: str, limit: int) -> None:
    if w * h > limit:
        raise NSTError(f"{name}: {w}x{h} px is {w * h / 1e6:.0f} megapixels, above the limit of "
                       f"{limit / 1e6:.0f} (set NST_MAX_PIXELS to allow more)")
    if min(w, h) < MIN_SIDE:
        raise NSTError(f"{name}: image is {w}x{h} px; nst needs at least {MIN_SIDE} px on each side")


def check_image_file(source: ImageLike) -> None:
    """`load_image`'s checks that need only the file's header (exists, an image Pillow can identify,
    within `max_pixels`, at least `MIN_SIDE` a side), without decoding: a folder is checked whole before
    a stream over it starts.  Arrays and Pillow images pass; a truncated body is found only on decode."""
    if isinstance(source, (np.ndarray, Image.Image)):
        return
    path, name = _existing_file(source)
    try:
        with _open_without_pillow_limit(path) as img:
            w, h = img.size
    except UnidentifiedImageError:
        raise NSTError(f"{name}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError) as e:
        raise NSTError(f"{name}: unreadable or truncated image ({str(e)[:160]})") from None
    _check_size(w, h, name, max_pixels())


def _decode_file(path: Path, name: str, keep_side: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """Open ``path``, check its header's size against `max_pixels`, decode no larger than needed.

    Above `REDUCED_DECODE_ABOVE` pixels, JPEGs decode directly at 1/2, 1/4 or 1/8 scale (Pillow's
    draft mode) when the output is that much smaller, and other formats are reduced by an integer
    factor in uint8 before the float conversion, so memory follows the output size rather than the
    file's.  Returns the image and the file's own
    (height, width) after its EXIF orientation.
    """
    limit = max_pixels()
    try:
        with _open_without_pillow_limit(path) as img:
            w, h = img.size
            _check_size(w, h, name, limit)
            factor = 1
            if keep_side and w * h > REDUCED_DECODE_ABOVE:
                # keep at least twice the final side (the Lanczos resize does the rest) and MIN_SIDE
                factor = max(1, min(max(w, h) // (2 * keep_side), min(w, h) // MIN_SIDE))
            if factor > 1 and img.format == "JPEG":
                img.draft("RGB", (max(MIN_SIDE, -(-w // factor)), max(MIN_SIDE, -(-h // factor))))
                factor = 1
            img.load()
            if factor > 1:
                img = img.reduce(factor)
            before = img.size
            img = ImageOps.exif_transpose(img)
            swapped = img.size != before
            a = to_rgb_array(img)
            if not np.isfinite(a).all():
                raise NSTError(f"{name}: image contains NaN or infinite values")
            return a, ((w, h) if swapped else (h, w))
    except NSTError:
        raise
    except UnidentifiedImageError:
        raise NSTError(f"{name}: not an image file Pillow can read") from None
    except MemoryError:
        raise NSTError(f"{name}: not enough memory to decode this image; lower NST_MAX_PIXELS or shrink it") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError) as e:
        raise NSTError(f"{name}: unreadable or truncated image ({str(e)[:160]})") from None


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


def wrap_label(text: str, width_of: Callable[[str], float], width: float, max_lines: int = 2) -> list[str]:
    """``text`` in at most ``max_lines`` lines no wider than ``width`` (``width_of`` measures a string).

    Lines break between words; a word wider than ``width`` on its own (a variant name such as
    ``scaled_decayed_relu4_1``) is also cut in two after one of ``_``, ``-``, ``+``, ``~`` or ``/``, where
    the longer half is shortest, with no space added.  Text left over after the last line ends it with "…".
    """
    pieces: list[tuple[str, bool]] = []  # (piece, a space before it)
    for word in text.split():
        cuts = [m.end() for m in re.finditer(r"[_\-+~/]", word) if m.end() < len(word)]
        if width_of(word) <= width or not cuts:
            pieces.append((word, True))
            continue
        cut = min(cuts, key=lambda c: (max(width_of(word[:c]), width_of(word[c:])), -c))
        pieces += [(word[:cut], True), (word[cut:], False)]
    lines = [""]
    for piece, space in pieces:
        trial = lines[-1] + (" " if space and lines[-1] else "") + piece
        if width_of(trial) <= width or not lines[-1]:
            lines[-1] = trial
        elif len(lines) < max_lines:
            lines.append(piece)
        else:
            lines[-1] = lines[-1].rstrip(".") + "…"
            break
    return lines


def labelled_grid(rows: Sequence[Sequence[np.ndarray | None]], column_labels: Sequence[str] = (),
                  row_labels: Sequence[str] = (), cell: int = 256, pad: int = 4,
                  column_images: Sequence[np.ndarray | None] = (), font_size: int = 14) -> np.ndarray:
    """`image_grid` with a label over each column and left of each row, and optional images over the columns.

    ``column_images`` (e.g. painting thumbnails) form a first row at half the cell size, above the
    column labels; figures that show outputs say what each cell is this way.
    """
    from PIL import ImageDraw, ImageFont

    n_cols = max([len(r) for r in rows] + [len(column_labels), len(column_images)])
    body = image_grid([list(r) + [None] * (n_cols - len(r)) for r in rows], cell=cell, pad=pad)
    font = ImageFont.load_default(size=font_size)
    line = font_size + 6
    left = (max((int(font.getlength(t)) for t in row_labels), default=0) + 2 * pad) if row_labels else 0
    thumb = cell // 2 if any(im is not None for im in column_images) else 0
    top = (thumb + pad if thumb else 0) + (2 * line if column_labels else 0)
    canvas = Image.new("RGB", (left + body.shape[1], top + body.shape[0]), "white")
    canvas.paste(Image.fromarray(to_uint8(body)), (left, top))
    draw = ImageDraw.Draw(canvas)

    def col_x(j: int) -> int:
        return left + pad + j * (cell + pad)

    for j, im in enumerate(column_images):
        if im is not None:
            h, w = scaled_size(*im.shape[:2], thumb)
            small = Image.fromarray(to_uint8(_resize(np.asarray(im, np.float32), (h, w))))
            canvas.paste(small, (col_x(j) + (cell - w) // 2, pad + (thumb - h) // 2))
    for j, text in enumerate(column_labels):
        lines = wrap_label(text, font.getlength, cell - pad)  # a margin, so neighbouring labels never touch
        y0 = top - 2 * line + (line if len(lines) == 1 else 0) // 2
        for k, ln in enumerate(lines):
            draw.text((col_x(j) + (cell - font.getlength(ln)) / 2, y0 + k * line), ln, fill="black", font=font)
    for i, text in enumerate(row_labels):
        y = top + pad + i * (cell + pad) + cell // 2 - line // 2
        draw.text((pad, y), text, fill="black", font=font)
    return np.asarray(canvas, np.float32) / 255.0


def painting_name(stem: str) -> str:
    """``vangogh_starry_night`` -> ``Vangogh Starry Night``: a readable label from a file stem."""
    return stem.replace("_", " ").title()


def save_stream(pairs: Iterable[tuple[np.ndarray, str | os.PathLike]], on_saved: Callable[[Path], None] | None = None,
                pending: int = 4) -> None:
    """Write (image, path) pairs as they come, encoding on a writer thread while the producer makes the
    next ones; at most ``pending`` images wait in memory, and ``on_saved`` sees each path in order."""
    writes: deque = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nst-write") as writer:
        def finish_one() -> None:
            path = writes.popleft().result()
            if on_saved is not None:
                on_saved(path)

        for image, path in pairs:
            writes.append(writer.submit(save_image, image, path))
            while len(writes) > pending:
                finish_one()
        while writes:
            finish_one()
