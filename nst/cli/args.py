"""Shared pieces of the ``nst`` command: the one-line-error parser, argument types, output paths.

Defaults live in the configuration dataclasses; options default to ``None`` here and the help
texts read the dataclass defaults, so a default is written once.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import NSTError
from ..io.files import check_writable_folder

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
IMAGE_OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def int_at_least(minimum: int, what: str = "") -> Callable[[str], int]:
    """An argparse type: an integer ≥ ``minimum``; ``what`` names it in the error."""
    what = what or f"an integer of at least {minimum}"

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {v}")
        return v

    return parse


positive_int = int_at_least(1, "a positive integer")
nonneg_int = int_at_least(0, "a non-negative integer")


def nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number, got {text}")
    return v


def image_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        h, w = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 512x384, got {text!r}") from None
    if h < 64 or w < 64:
        raise argparse.ArgumentTypeError(f"image size {text!r} is too small: at least 64x64")
    return h, w


def layer_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(nonneg_float(t.strip()) for t in text.split(",") if t.strip())
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated non-negative numbers: {e}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


# dataclass field -> argparse dest, for the objective's options (GatysConfig and TrainConfig share them)
OBJECTIVE_OPTIONS = {
    "content_weight": "content_loss_weight", "style_weight": "style_loss_weight", "tv_weight": "tv_weight",
    "content_layers": "content_layers", "style_layers": "style_layers",
    "style_layer_weights": "style_layer_weights", "recipe": "recipe", "vgg_padding": "vgg_padding",
}


def add_objective_options(p: argparse.ArgumentParser, config: type, recipe_help: str) -> None:
    """The perceptual objective's options (α, β, γ, layers, per-layer weights, recipe), defaults from ``config``."""
    from ..core.vgg import PADDINGS
    from ..recipes import RECIPES

    d = lambda name: default_of(config, name)  # noqa: E731
    weights = d("style_layer_weights")
    p.add_argument("--content-loss-weight", type=nonneg_float, default=None, help=f"α (default {d('content_weight')})")
    p.add_argument("--style-loss-weight", type=nonneg_float, default=None, help=f"β (default {d('style_weight')})")
    p.add_argument("--tv-weight", type=nonneg_float, default=None, help=f"γ, total variation (default {d('tv_weight')})")
    p.add_argument("--content-layers", type=layer_list, default=None,
                   help=f"comma-separated (default {','.join(d('content_layers'))})")
    p.add_argument("--style-layers", type=layer_list, default=None,
                   help=f"comma-separated (default {','.join(d('style_layers'))})")
    p.add_argument("--style-layer-weights", type=float_list, default=None,
                   help="w_ℓ per style layer, comma-separated (default "
                        + (",".join(f"{w:g}" for w in weights) if weights else "equal, summing to 1") + ")")
    p.add_argument("--recipe", choices=sorted(RECIPES), default=None, help=recipe_help)
    p.add_argument("--vgg-padding", choices=list(PADDINGS), default=None,
                   help=f"the loss network's conv padding: zero as in every paper's VGG, or reflect, which keeps a "
                        f"frame of the mean colour out of the objective (default {d('vgg_padding')})")


def default_of(config: type, name: str) -> Any:
    """The default of field ``name`` of the dataclass ``config`` (for help texts)."""
    for f in dataclasses.fields(config):
        if f.name == name:
            return f.default
    raise KeyError(name)


def given(args: argparse.Namespace, mapping: dict[str, str]) -> dict[str, Any]:
    """``{field: value}`` for each ``mapping`` entry (field -> argparse dest) the user gave."""
    return {field: getattr(args, dest) for field, dest in mapping.items() if getattr(args, dest) is not None}


def check_output_file(path: str | os.PathLike, what: str = "-o") -> Path:
    """Refuse an output path that cannot be written, before any work starts.

    A folder where a file belongs, a parent that is a file, or a folder where no file can be created
    (read-only, /proc, /sys, no permission): the nearest existing folder on the way is probed by
    creating and removing a temporary file in it, nothing else is left behind.
    """
    p = Path(path)
    if p.is_dir():
        raise NSTError(f"{what} {path}: is a folder; give a file name")
    if p.exists() and not p.is_file():
        raise NSTError(f"{what} {path}: exists and is not a regular file")
    _probe_nearest_folder(p.parent, f"{what} {path}")
    return p


def _probe_nearest_folder(start: Path, label: str) -> None:
    """The nearest existing folder at or above ``start`` must be a folder one can write into."""
    while not start.exists():
        start = start.parent
    if not start.is_dir():
        raise NSTError(f"{label}: {start} is not a folder")
    check_writable_folder(start, label)


def check_output_folder(path: str | os.PathLike, what: str = "-o") -> Path:
    """Like `check_output_file` for an output that is itself a folder (an .mlpackage, an output folder)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise NSTError(f"{what} {path}: exists and is not a folder")
    _probe_nearest_folder(p if p.exists() else p.parent, f"{what} {path}")
    return p


def output_paths(out: str, names: Sequence[str], suffix: str = ".png") -> list[Path]:
    """One output path per name: ``out`` itself for one image file, else ``out/NAME.png``."""
    target = Path(out)
    if len(names) == 1 and target.suffix.lower() in IMAGE_OUTPUT_SUFFIXES:
        return [check_output_file(target)]
    if target.suffix.lower() in (".png", ".jpg", ".jpeg") and len(names) > 1:
        raise NSTError(f"-o {out}: {len(names)} outputs need a folder, not a file name")
    if target.suffix and not target.is_dir():
        raise NSTError(f"-o {out}: unknown output image format {target.suffix!r} (use .png or .jpg, or a folder)")
    if target.exists() and not target.is_dir():
        raise NSTError(f"-o {out}: exists and is not a folder")
    if len(set(names)) != len(names):
        raise NSTError(f"-o {out}: two outputs would have the same name; give the inputs distinct names")
    return [check_output_file(target / f"{n}{suffix}") for n in names]
