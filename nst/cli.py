"""The ``nst`` command.  User errors print one line and exit non-zero; no tracebacks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from .errors import NSTError

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_at_least(minimum: int, kind: str) -> Callable[[str], int]:
    """An argparse type: an integer ≥ ``minimum``, named ``kind`` in the error."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind} integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected a {kind} integer, got {v}")
        return v

    return parse


_positive_int = _int_at_least(1, "positive")
_nonneg_int = _int_at_least(0, "non-negative")


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number, got {text}")
    return v


def _image_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        h, w = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 512x384, got {text!r}") from None
    if h < 64 or w < 64:
        raise argparse.ArgumentTypeError(f"image size {text!r} is too small: at least 64x64")
    return h, w


def _layers(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nst", description="Neural style transfer, three generations: gatys (optimise the image).")
    from . import __version__

    p.add_argument("--version", action="version", version=f"nst {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("stylize", help="stylize images", description="Stylize content images.")
    s.add_argument("content", nargs="+", help="content image files or folders")
    s.add_argument("--method", default="gatys", choices=["gatys"], help="gatys optimises each image (default)")
    s.add_argument("--model", help="a trained model file (.nst, johnson or dumoulin): run it instead of gatys")
    s.add_argument("--style", action="append",
                   help="gatys: style image (repeat to blend several); --model: style index (repeatable)")
    s.add_argument("--blend", help="--model: blend styles, e.g. 0=0.5,3=0.5 (weights normalised to sum 1)")
    s.add_argument("--all-styles", action="store_true", help="--model: one output per style (the default)")
    s.add_argument("--max-size", type=_positive_int, default=None,
                   help="--model: shrink inputs so their long side is at most this (default: full size)")
    s.add_argument("--border", type=_nonneg_int, default=None,
                   help="--model: reflection px padded around each picture and cropped off (default 16; "
                        "0 = the bare network, which may draw a line along the edges)")
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

    t = sub.add_parser("train", help="train a johnson (one style) or dumoulin (many styles) network",
                       description="Train a feedforward style network; writes MODEL, MODEL.loss.csv/.png.")
    t.add_argument("--method", choices=["johnson", "dumoulin"], default="johnson")
    t.add_argument("--style", action="append", help="style image (johnson: one; dumoulin: repeat)")
    t.add_argument("--content-dir", default="data/content/train", help="training photos (default data/content/train)")
    t.add_argument("-o", "--output", help="model file to write (.nst)")
    t.add_argument("--add-style", help="dumoulin: learn this extra style for --from MODEL (only its γ/β rows train)")
    t.add_argument("--from", dest="base",
                   help="the model --add-style extends; without --add-style, fine-tune all of this model "
                        "(same --style images) with the options given")
    t.add_argument("--max-iterations", type=_positive_int, default=None)
    t.add_argument("--batch-size", type=_positive_int, default=4)
    t.add_argument("--image-size", type=_positive_int, default=256)
    t.add_argument("--style-size", type=_positive_int, default=256)
    t.add_argument("--content-loss-weight", type=_nonneg_float, default=1.0, help="α (TrainConfig.content_weight)")
    t.add_argument("--style-loss-weight", type=_nonneg_float, default=None, help="β (TrainConfig.style_weight)")
    t.add_argument("--tv-weight", type=_nonneg_float, default=None, help="γ (TrainConfig.tv_weight)")
    t.add_argument("--learning-rate", type=_nonneg_float, default=1e-3)
    t.add_argument("--width", type=_nonneg_float, default=1.0, help="channel multiplier (1.0, 0.5, 0.25)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--checkpoint-every", type=_positive_int, default=500)
    t.add_argument("--checkpoint", help="checkpoint file (default MODEL.ckpt next to the model)")
    t.add_argument("--resume", help="continue from this checkpoint")
    t.add_argument("--time-limit", type=_nonneg_float, default=None, help="stop (and save) after this many seconds")
    t.add_argument("--breakdown", action="store_true", help="show content and style loss columns")
    t.add_argument("-q", "--quiet", action="store_true")

    e = sub.add_parser("export", help="export a johnson/dumoulin model to ONNX or Core ML",
                       description="Export a trained model for on-device use (ONNX: float NCHW RGB in [0,1]; "
                                   "Core ML: RGB images). Multi-style models take an 'index' style-weight input.")
    e.add_argument("model", help="model file (.nst)")
    e.add_argument("-o", "--output", required=True, help="output file: NAME.onnx or NAME.mlpackage")
    e.add_argument("--format", choices=["onnx", "coreml"], default=None,
                   help="default: from the output suffix (.onnx, .mlpackage)")
    e.add_argument("--fp16", action="store_true", help="float16 weights (half the file size)")
    e.add_argument("--image-size", type=_image_size, default=None,
                   help="fix the input size, e.g. 512x384 (HxW); default flexible, at least 64 px")
    e.add_argument("--verify", action="store_true",
                   help="ONNX: compare onnxruntime with the JAX model at 97x131, 256x256, 384x512 (every style)")
    e.add_argument("-q", "--quiet", action="store_true")

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


def _parse_blend(text: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for part in text.split(","):
        try:
            k, v = part.split("=")
            out[int(k)] = float(v)
        except ValueError:
            raise NSTError(f"--blend {text!r}: expected INDEX=WEIGHT pairs, e.g. 0=0.5,3=0.5") from None
    return out


def _cmd_stylize_model(args: argparse.Namespace) -> int:
    from .feedforward import load
    from .images import expand_sources, save_image

    model = load(args.model)
    if sum(bool(x) for x in (args.style, args.blend, args.all_styles)) > 1:
        raise NSTError("give only one of --style, --blend, --all-styles")
    if args.blend:
        style = _parse_blend(args.blend)
    elif args.style:
        try:
            style = [int(s) for s in args.style]
        except ValueError:
            raise NSTError("with --model, --style takes a style index (see nst stylize --help)") from None
    else:
        style = None
    sources = expand_sources(args.content)
    from .stylizer import resolve_styles

    resolve_styles(style, model.num_styles)  # validate before any work
    if args.border is not None:
        model.border = args.border
    results = model.stylize(sources, style=style, max_size=args.max_size)
    names = [f"{r.content_name}_{r.style_name}" for r in results]
    outs = _output_paths(args.output, names)
    for r, out in zip(results, outs):
        save_image(r.image, out)
        if not args.quiet:
            print(out)
    return 0


def _cmd_stylize(args: argparse.Namespace) -> int:
    from .gatys import GatysConfig, gatys_transfer
    from .images import expand_sources, image_name, load_image, save_image

    if args.model:
        return _cmd_stylize_model(args)
    if not args.style:
        raise NSTError("gatys needs at least one --style image (or give --model)")
    if args.blend or args.all_styles:
        raise NSTError("--blend and --all-styles need --model; for gatys use --style-weight")
    if args.max_size is not None or args.border is not None:
        raise NSTError("--max-size and --border need --model; for gatys use --size")

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


def _cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .feedforward import extended_meta, load, stylizer_from_training
    from .train import TrainConfig, TrainingInterrupted, train, write_history

    if not args.output:
        raise NSTError("give the model file to write with -o MODEL.nst")
    overrides = {k: v for k, v in dict(style_weight=args.style_loss_weight, tv_weight=args.tv_weight).items()
                 if v is not None}
    cfg = TrainConfig(method=args.method, max_iterations=args.max_iterations, batch_size=args.batch_size,
                      image_size=args.image_size, style_size=args.style_size,
                      content_weight=args.content_loss_weight, learning_rate=args.learning_rate, width=args.width,
                      seed=args.seed, checkpoint_every=args.checkpoint_every, time_limit=args.time_limit,
                      **overrides).validate()
    out = Path(args.output)
    ckpt = Path(args.checkpoint) if args.checkpoint else out.with_suffix(".ckpt")
    base = init = None
    if args.add_style:
        if not args.base:
            raise NSTError("--add-style needs --from MODEL, the model to extend")
        if args.style:
            raise NSTError("--add-style replaces --style")
        base_model = load(args.base)
        if base_model.method != "dumoulin":
            raise NSTError(f"{args.base}: only dumoulin models can learn extra styles")
        base, styles = (base_model.model, base_model.meta), [args.add_style]
        cfg = TrainConfig(**{**{k: (tuple(v) if isinstance(v, list) else v)
                                for k, v in base_model.meta["training"].items()},
                             "max_iterations": args.max_iterations or 1000, "seed": args.seed,
                             "checkpoint_every": args.checkpoint_every, "time_limit": args.time_limit})
    else:
        if not args.style and not args.resume:
            raise NSTError("give at least one --style image")
        styles = args.style or []
        if args.base:  # fine-tune a whole trained model
            init_model = load(args.base)
            init = (init_model.model, init_model.meta)
            cfg = replace(cfg, method=init_model.method, width=init_model.model.config.width)
    if args.resume and not styles:
        raise NSTError("--resume needs the same --style images as the original run")
    try:
        res = train(styles, args.content_dir, cfg, checkpoint=ckpt, resume=args.resume, base=base, init=init,
                    verbose=not args.quiet, breakdown=args.breakdown)
    except TrainingInterrupted as e:
        print(f"nst: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    model = stylizer_from_training(res.model, res.meta)
    if base is not None:
        model = stylizer_from_training(res.model, extended_meta(base[1], res.meta))
    model.save(out)
    write_history(res.history, out, title=f"{model.method}: {', '.join(model.styles)}")
    if ckpt.exists():
        ckpt.unlink()
    if not args.quiet:
        print(model.summary())
        print(f"model -> {out}  (loss history: {out.with_suffix('.loss.csv')}, {out.with_suffix('.loss.png')})")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .api import load
    from .export import SUFFIXES, export, resolve_format, verify_onnx
    from .fileio import path_size

    model = load(args.model)
    out = Path(args.output)
    fmt = args.format
    if fmt is not None and out.suffix.lower() not in (".onnx", ".mlpackage", ".mlmodel"):
        out = out.with_name(out.name + SUFFIXES[fmt])
    fmt = resolve_format(out, fmt)
    precision = "float16" if args.fp16 else "float32"
    path = export(model, out, format=fmt, precision=precision, image_size=args.image_size)
    if not args.quiet:
        print(f"wrote {path} ({fmt}, {precision}, {path_size(path) / 1e6:.1f} MB)")
    if args.verify:
        if fmt != "onnx":
            print("nst: --verify runs ONNX models only (running Core ML needs macOS)", file=sys.stderr)
            return 0
        sizes = [args.image_size] if args.image_size else [(97, 131), (256, 256), (384, 512)]
        rows = verify_onnx(model, path, sizes=sizes)
        worst = max(rows, key=lambda r: r["max_abs_diff"])
        print(f"onnxruntime vs JAX: max |difference| {worst['max_abs_diff']:.2e} on the [0,1] scale "
              f"({len(rows)} cases; worst {worst['height']}x{worst['width']}, {worst['style']})")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.output), size=args.size, steps=args.steps, verbose=not args.quiet)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"stylize": _cmd_stylize, "train": _cmd_train, "weights": _cmd_weights,
                "demo": _cmd_demo, "export": _cmd_export}[args.command](args)
    except NSTError as e:
        print(f"nst: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("nst: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
