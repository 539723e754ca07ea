"""``nst stylize``: Gatys on images (no model), or a trained model (``--model``), through the common interface."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import NSTError
from .args import OBJECTIVE_OPTIONS, add_objective_options, default_of, given, int_at_least, nonneg_float, nonneg_int, \
    output_paths, positive_int

# GatysConfig field -> argparse dest
GATYS_OPTIONS = {
    "size": "size", "steps": "steps", "optimizer": "optimizer", "learning_rate": "learning_rate", "init": "init",
    "lbfgs_memory": "lbfgs_memory", "linesearch": "linesearch",
    "style_scale": "style_scale", "preserve_color": "preserve_color", "scales": "scales", "pooling": "pooling",
    "seed": "seed", **OBJECTIVE_OPTIONS,
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..core.networks import BORDER_STAGES, STYLIZE_BORDER, STYLIZE_BORDER_STAGE
    from ..io.images import MIN_SIDE
    from ..methods.gatys import INIT_STARTS, LINESEARCHES, GatysConfig

    d = lambda name: default_of(GatysConfig, name)  # noqa: E731
    s = sub.add_parser("stylize", help="stylize images", description="Stylize content images.")
    s.add_argument("content", nargs="+", help="content image files or folders")
    s.add_argument("--method", choices=["gatys"], default=None, help=argparse.SUPPRESS)  # deprecated: the default
    s.add_argument("--model", help="a trained model file (.nst, johnson or dumoulin): run it instead of gatys")
    s.add_argument("--style", action="append",
                   help="gatys: style image (repeat to blend several); --model: style index (repeatable)")
    s.add_argument("--blend", help="--model: blend styles, e.g. 0=0.5,3=0.5 (weights normalised to sum 1)")
    s.add_argument("--all-styles", action="store_true", help="--model: one output per style (the default)")
    s.add_argument("--max-size", type=int_at_least(MIN_SIDE), default=None,
                   help="--model: shrink inputs so their long side is at most this (default: full size; "
                        f"at least {MIN_SIDE})")
    s.add_argument("--border", type=nonneg_int, default=None,
                   help=f"--model: reflection px padded around each picture and cropped off (default: the border the "
                        f"model was trained with, if any, else {STYLIZE_BORDER}; "
                        "0 = the bare network, which may draw a line along the edges)")
    s.add_argument("--border-stage", choices=BORDER_STAGES, default=None,
                   help="--model: where the border is padded: around the picture (input) or around the "
                        "residual blocks' quarter-resolution map (residual: cheaper; a border that is a "
                        "multiple of 4; default: the model's training border's stage, if any, else "
                        f"{STYLIZE_BORDER_STAGE})")
    s.add_argument("--batch-size", type=positive_int, default=None,
                   help="--model: same-size pictures (× styles) per network pass when stylizing many "
                        "(default 4; fewer when memory is short)")
    s.add_argument("--style-weight", action="append", type=nonneg_float, default=None,
                   help="blend weight of each --style, in order (default equal; normalised to sum 1)")
    s.add_argument("-o", "--output", required=True,
                   help="output image file (one output) or folder (written as CONTENT_STYLE.png)")
    s.add_argument("--size", type=int_at_least(MIN_SIDE), default=None,
                   help=f"long side of the output in px (default {d('size')})")
    s.add_argument("--steps", type=positive_int, default=None, help=f"optimisation steps per scale (default {d('steps')})")
    s.add_argument("--optimizer", choices=["lbfgs", "adam"], default=None, help=f"(default {d('optimizer')})")
    s.add_argument("--learning-rate", type=nonneg_float, default=None,
                   help=f"Adam step size (default {d('learning_rate')})")
    s.add_argument("--lbfgs-memory", type=positive_int, default=None,
                   help=f"L-BFGS: pairs of history kept (default {d('lbfgs_memory')}; neural-style keeps 100)")
    s.add_argument("--linesearch", choices=list(LINESEARCHES), default=None,
                   help="L-BFGS: backtracking (Armijo), zoom (optax's), or none (torch's optim.lbfgs as neural-style "
                        f"runs it: unit steps; the objective may rise) (default {d('linesearch')})")
    add_objective_options(s, GatysConfig, "a paper's layers and weights (nst.recipes; docs/recipes.md); "
                                          "explicit options win")
    s.add_argument("--init", default=None, help=f"{', '.join(INIT_STARTS)}, or an image file (default {d('init')})")
    s.add_argument("--style-scale", type=nonneg_float, default=None,
                   help=f"style image size relative to the output (default {d('style_scale')})")
    s.add_argument("--preserve-color", nargs="?", const="luminance", default=None, choices=["luminance", "histogram"],
                   help="keep the content's colours (luminance-only transfer, or colour histogram matching)")
    s.add_argument("--scales", type=positive_int, default=None,
                   help=f"coarse-to-fine levels, e.g. 3 with --size 1024 runs 256 → 512 → 1024 (default {d('scales')})")
    s.add_argument("--pooling", choices=["max", "avg"], default=None, help=f"(default {d('pooling')})")
    s.add_argument("--save-every", type=nonneg_int, default=0, help="also save intermediates every N steps")
    s.add_argument("--seed", type=int, default=None, help=f"(default {d('seed')})")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def parse_blend(text: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for part in text.split(","):
        try:
            k, v = part.split("=")
            index, weight = int(k), float(v)
        except ValueError:
            raise NSTError(f"--blend {text!r}: expected INDEX=WEIGHT pairs, e.g. 0=0.5,3=0.5") from None
        if index in out:
            raise NSTError(f"--blend {text!r}: style {index} is given twice")
        out[index] = weight
    return out


def run(args: argparse.Namespace) -> int:
    if args.method is not None:
        print("nst: --method gatys is deprecated: gatys is what stylize runs without --model", file=sys.stderr)
    if args.model:
        return run_model(args)
    return run_gatys(args)


def run_model(args: argparse.Namespace) -> int:
    from ..api import load
    from ..interface.base import resolve_styles, style_label_name
    from ..io.images import expand_sources, image_name, save_stream

    if sum(bool(x) for x in (args.style, args.blend, args.all_styles)) > 1:
        raise NSTError("give only one of --style, --blend, --all-styles")
    if given(args, {k: v for k, v in GATYS_OPTIONS.items() if k != "seed"}) or args.style_weight or args.save_every:
        raise NSTError("Gatys options (--size, --steps, --style-weight, …) do not apply to --model; "
                       "use --max-size to shrink inputs")
    model = load(args.model)
    if args.blend:
        style = parse_blend(args.blend)
    elif args.style:
        try:
            style = [int(s) for s in args.style]
        except ValueError:
            raise NSTError("with --model, --style takes a style index (see nst stylize --help)") from None
    else:
        style = None
    sources = expand_sources(args.content)
    specs, _ = resolve_styles(style, model.num_styles)  # validate before any work
    names = [f"{image_name(src, i)}_{style_label_name(s.label, model.styles)}"
             for i, src in enumerate(sources) for s in specs]  # image-major, as stylize returns them
    outs = output_paths(args.output, names)
    if args.border is not None or args.border_stage is not None:
        model = model.with_border(model.border if args.border is None else args.border, args.border_stage)
    # A stream: the next photos decode while the network runs, and each output is encoded and written
    # on a writer thread while the next batch is stylized (at most a few outputs wait in memory).
    stream = model.stylize_stream(sources, style=style, max_size=args.max_size,
                                  **({"batch_size": args.batch_size} if args.batch_size else {}))
    save_stream(((r.image, out) for r, out in zip(stream, outs)), on_saved=None if args.quiet else print)
    return 0


def run_gatys(args: argparse.Namespace) -> int:
    from ..api import create
    from ..io.images import expand_sources, image_name, load_image, save_image
    from ..methods.gatys import INIT_STARTS

    if not args.style:
        raise NSTError("gatys needs at least one --style image (or give --model)")
    if args.blend or args.all_styles:
        raise NSTError("--blend and --all-styles need --model; for gatys use --style-weight")
    if (args.max_size is not None or args.border is not None or args.batch_size is not None
            or args.border_stage is not None):
        raise NSTError("--max-size, --border, --border-stage and --batch-size need --model; for gatys use --size")
    if args.style_weight is not None and len(args.style_weight) != len(args.style):
        raise NSTError(f"{len(args.style_weight)} --style-weight values for {len(args.style)} --style images")
    weights = args.style_weight or [1.0] * len(args.style)
    if sum(weights) <= 0:
        raise NSTError("all --style-weight values are zero")
    if args.init not in (None, *INIT_STARTS):
        load_image(args.init)  # fail early, before any optimisation
    used = [i for i, w in enumerate(weights) if w > 0]
    sources = expand_sources(args.content)
    style_name = "+".join(image_name(args.style[i], i) for i in used)
    outs = output_paths(args.output, [f"{image_name(s, i)}_{style_name}" for i, s in enumerate(sources)])
    current: dict[str, Path] = {}

    def save_intermediate(step: int, image, loss: float) -> None:
        out = current["out"]
        if step != model.config.steps * model.config.scales:
            save_image(image, out.with_name(f"{out.stem}_step{step:05d}{out.suffix}"))

    model = create("gatys", [args.style[i] for i in used], verbose=not args.quiet,
                   callback=save_intermediate if args.save_every else None, callback_every=args.save_every,
                   **given(args, GATYS_OPTIONS))
    request = 0 if len(used) == 1 else {k: weights[i] for k, i in enumerate(used)}
    for src, out in zip(sources, outs):
        current["out"] = out
        (res,) = model.stylize([src], style=request)
        save_image(res.image, out)
        if not args.quiet:
            print(f"{out}  ({res.details['seconds']:.1f} s, loss {res.details['losses']['total']:.4g})")
    return 0
