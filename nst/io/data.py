"""Training batches of content images: resize, random crop, random flip, decoded in the background.

Every batch is a pure function of ``(seed, iteration)``: which images (an
epoch-wise permutation), where to crop and whether to flip all come from
``numpy.random.default_rng([seed, ...])``.  A resumed run therefore sees exactly
the batches an uninterrupted run would have seen.

Decoding happens in a thread pool that runs ahead of the training loop
(Pillow releases the GIL while decoding), so the accelerator never waits on
JPEG decoding.  JPEGs are decoded with Pillow's draft mode at the smallest
scale that still covers ``image_size``, and decoded images are kept in memory
(up to ``cache_limit`` images) because small training sets are revisited
every few iterations.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, ImageOps

from ..errors import NSTError
from .images import to_rgb_array, list_images


def resize_short_side(img: Image.Image, short: int) -> Image.Image:
    w, h = img.size
    s = short / min(w, h)
    return img.resize((max(short, round(w * s)), max(short, round(h * s))), Image.Resampling.BILINEAR)


class ContentBatches:
    """Deterministic batches of ``image_size``² crops from a folder (or list) of images."""

    def __init__(self, sources: str | os.PathLike | Sequence[str | os.PathLike], image_size: int, batch_size: int,
                 seed: int = 0, workers: int = 4, cache_limit: int = 4096):
        if isinstance(sources, (str, os.PathLike)):
            if not Path(sources).exists():
                raise NSTError(f"content folder {sources}: no such folder")
            files = list_images(sources)
        else:
            files = [Path(s) for s in sources]
            if not files:
                raise NSTError("no content images given")
        if image_size < 32 or batch_size < 1:
            raise NSTError("image_size must be ≥ 32 and batch_size ≥ 1")
        self.files, self.image_size, self.batch_size, self.seed = files, image_size, batch_size, seed
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_limit = cache_limit
        self._lock = threading.Lock()
        self._pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nst-data")
        self._perms: dict[int, np.ndarray] = {}
        self._decode(0)  # fail early on an unreadable first image

    def __len__(self) -> int:
        return len(self.files)

    def _decode(self, i: int) -> np.ndarray:
        with self._lock:
            if i in self._cache:
                return self._cache[i]
        path = self.files[i]
        try:
            with Image.open(path) as img:
                img.draft("RGB", (self.image_size, self.image_size))  # JPEG: decode at a reduced scale
                img = ImageOps.exif_transpose(img)
                if min(img.size) < 32:
                    raise NSTError(f"{path}: image is {img.size[0]}x{img.size[1]} px; need at least 32 px")
                arr = (to_rgb_array(resize_short_side(img, self.image_size)) * 255 + 0.5).astype(np.uint8)
        except NSTError:
            raise
        except Exception as e:  # noqa: BLE001 - any decoder failure is a bad file
            raise NSTError(f"{path}: unreadable training image ({e})") from None
        with self._lock:
            self._cache[i] = arr
            while len(self._cache) > self._cache_limit:
                self._cache.popitem(last=False)
        return arr

    def _indices(self, iteration: int) -> list[int]:
        n, b = len(self.files), self.batch_size
        out = []
        for k in range(b):
            pos = iteration * b + k
            epoch, j = divmod(pos, n)
            if epoch not in self._perms:
                self._perms[epoch] = np.random.default_rng([self.seed, 0, epoch]).permutation(n)
            out.append(int(self._perms[epoch][j]))
        return out

    def batch(self, iteration: int) -> np.ndarray:
        """Batch number ``iteration`` (0-based) as float32 (B, S, S, 3) in [0, 1]."""
        idx = self._indices(iteration)
        rng = np.random.default_rng([self.seed, 1, iteration])
        s = self.image_size
        out = np.empty((len(idx), s, s, 3), np.float32)
        for k, i in enumerate(idx):
            a = self._decode(i)
            h, w = a.shape[:2]
            y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
            crop = a[y : y + s, x : x + s]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            out[k] = crop.astype(np.float32) / 255.0
        return out

    def iterate(self, start: int, stop: int, prefetch: int = 4) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(iteration, batch)`` for start ≤ iteration < stop, decoded ``prefetch`` batches ahead."""
        pending: OrderedDict[int, cf.Future] = OrderedDict()
        nxt = start
        try:
            for it in range(start, stop):
                while nxt < stop and len(pending) < prefetch:
                    pending[nxt] = self._pool.submit(self.batch, nxt)
                    nxt += 1
                yield it, pending.pop(it).result()
        finally:
            for f in pending.values():
                f.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
