"""The ``nst`` command.  User errors print one line and exit non-zero; no tracebacks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .errors import NSTError

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number, got {text}")
    return v


def _layers(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nst", description="Neural style transfer, three generations: gatys (optimise the image).")
    from . import __version__

    p.add_argument("--version", action="version", version=f"nst {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("stylize", help="stylize images", description="Stylize content images.")
    s.add_argument("content", nargs="+", help="content image files or folders")
    s.add_argument("--method", default="gatys", choices=["gatys"], help="which generation (default gatys)")
    s.add_argument("--style", action="append", required=True, help="style image (repeat to blend several)")
    s.add_argument("--style-weight", action="append", type=_nonneg_float, default=None,
                   help="blend weight of each --style, in order (default equal; normalised to sum 1)")
    s.add_argument("-o", "--output", required=True,
                   help="output image file (one output) or folder (written as CONTENT_STYLE.png)")
    s.add_argument("--size", type=_positive_int, default=512, help="long side of the output in px (default 512)")
    s.add_argument("--steps", type=_positive_int, default=500, help="optimisation steps per scale (default 500)")
    s.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    s.add_argument("--learning-rate", type=_nonneg_float, default=0.02, help="Adam step size (default 0.02)")
    s.add_argument("--content-loss-weight", type=_nonneg_float, default=1.0, help="α (default 1)")
    s.add_argument("--style-loss-weight", type=_nonneg_float, default=1e-3, help="β (default 1e-3)")
    s.add_argument("--tv-weight", type=_nonneg_float, default=0.0, help="γ, total variation (default 0)")
    s.add_argument("--content-layers", type=_layers, default=None, help="comma-separated, default relu4_2")
    s.add_argument("--style-layers", type=_layers, default=None, help="comma-separated, default relu1_1..relu5_1")
    s.add_argument("--init", default="content", help="content, noise, or an image file (default content)")
    s.add_argument("--style-scale", type=_nonneg_float, default=1.0,
                   help="style image size relative to the output (default 1.0)")
    s.add_argument("--preserve-color", nargs="?", const="luminance", default=None, choices=["luminance", "histogram"],
                   help="keep the content's colours (luminance-only transfer, or colour histogram matching)")
    s.add_argument("--scales", type=_positive_int, default=1,
                   help="coarse-to-fine levels, e.g. 3 with --size 1024 runs 256 → 512 → 1024 (default 1)")
    s.add_argument("--pooling", choices=["max", "avg"], default="max")
    s.add_argument("--save-every", type=int, default=0, help="also save intermediates every N steps")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    w = sub.add_parser("weights", help="fetch and verify the VGG19 weights; print where they are")
    w.add_argument("--quiet", "-q", action="store_true")

    d = sub.add_parser("demo", help="stylize the evaluation photos and write a comparison grid")
    d.add_argument("-o", "--output", default="nst-demo", help="output folder (default nst-demo)")
    d.add_argument("--size", type=_positive_int, default=192, help="long side in px (default 192)")
    d.add_argument("--steps", type=_positive_int, default=80, help="Gatys L-BFGS steps (default 80)")
    d.add_argument("-q", "--quiet", action="store_true")
    return p


def _cmd_weights(args: argparse.Namespace) -> int:
    from .weights import BIN_SHA256, weights_path

    path = weights_path()
    if not args.quiet:
        print(f"VGG19 weights (ImageNet, Simonyan & Zisserman 2014, CC BY 4.0; source sha256 {BIN_SHA256[:16]}…):")
    print(path)
    return 0


def _output_paths(out: str, names: Sequence[str], suffix: str = ".png") -> list[Path]:
    target = Path(out)
    if len(names) == 1 and target.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        return [target]
    if target.suffix.lower() in (".png", ".jpg", ".jpeg") and len(names) > 1:
        raise NSTError(f"-o {out}: {len(names)} outputs need a folder, not a file name")
    if target.suffix and not target.is_dir():
        raise NSTError(f"-o {out}: unknown output image format {target.suffix!r} (use .png or .jpg, or a folder)")
    if target.exists() and not target.is_dir():
        raise NSTError(f"-o {out}: exists and is not a folder")
    return [target / f"{n}{suffix}" for n in names]


def _cmd_stylize(args: argparse.Namespace) -> int:
    from .gatys import GatysConfig, gatys_transfer
    from .images import expand_sources, image_name, load_image, save_image

    if args.style_weight is not None and len(args.style_weight) != len(args.style):
        raise NSTError(f"{len(args.style_weight)} --style-weight values for {len(args.style)} --style images")
    if args.save_every < 0:
        raise NSTError("--save-every must be 0 or positive")
    sources = expand_sources(args.content)
    cfg = GatysConfig(
        size=args.size, steps=args.steps, optimizer=args.optimizer, learning_rate=args.learning_rate,
        content_weight=args.content_loss_weight, style_weight=args.style_loss_weight, tv_weight=args.tv_weight,
        init=args.init, style_scale=args.style_scale, preserve_color=args.preserve_color, scales=args.scales,
        pooling=args.pooling, seed=args.seed,
        **({"content_layers": args.content_layers} if args.content_layers else {}),
        **({"style_layers": args.style_layers} if args.style_layers else {}),
    ).validate()
    if args.init not in ("content", "noise"):
        load_image(args.init)  # fail early, before any optimisation
    weights = args.style_weight or [1.0] * len(args.style)
    if sum(weights) <= 0:
        raise NSTError("all --style-weight values are zero")
    used = [i for i, w in enumerate(weights) if w > 0]
    styles = [load_image(args.style[i]) for i in used]
    style_name = "+".join(image_name(args.style[i], i) for i in used)
    names = [f"{image_name(s, i)}_{style_name}" for i, s in enumerate(sources)]
    outs = _output_paths(args.output, names)
    for src, out in zip(sources, outs):
        content = load_image(src)

        def save_intermediate(step: int, image, loss: float, out: Path = out) -> None:
            if step != cfg.steps * cfg.scales:
                save_image(image, out.with_name(f"{out.stem}_step{step:05d}{out.suffix}"))

        res = gatys_transfer(content, styles, [weights[i] for i in used], cfg, verbose=not args.quiet,
                             callback=save_intermediate if args.save_every else None, callback_every=args.save_every)
        save_image(res.image, out)
        if not args.quiet:
            print(f"{out}  ({res.seconds:.1f} s, loss {res.losses['total']:.4g})")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.output), size=args.size, steps=args.steps, verbose=not args.quiet)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"stylize": _cmd_stylize, "weights": _cmd_weights, "demo": _cmd_demo}[args.command](args)
    except NSTError as e:
        print(f"nst: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("nst: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
