"""``nst train``: train a johnson or dumoulin network, fine-tune one, or add a style — through the interface."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import NSTError
from .args import EXIT_INTERRUPTED, OBJECTIVE_OPTIONS, add_objective_options, check_output_file, default_of, \
    float_list, given, nonneg_float, nonneg_int, positive_int

# TrainConfig field -> argparse dest
TRAIN_OPTIONS = {
    "batch_size": "batch_size", "image_size": "image_size", "style_size": "style_size",
    "learning_rate": "learning_rate", "lr_schedule": "lr_schedule", "width": "width",
    "network_output": "network_output", "seed": "seed",
    "checkpoint_every": "checkpoint_every", "time_limit": "time_limit", "style_scales": "style_scales",
    "train_border": "train_border", "train_border_stage": "train_border_stage", **OBJECTIVE_OPTIONS,
}


STORED = "stored"  # --style-size stored: the style file as it is (TrainConfig.style_size None)


def style_size_arg(text: str) -> int | str:
    """``--style-size``: a positive number of pixels, or ``stored`` (no resizing)."""
    return STORED if text.strip().lower() == STORED else positive_int(text)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..core.networks import BORDER_STAGES, OUTPUTS, STYLIZE_BORDER
    from ..methods.training import LR_SCHEDULES, TrainConfig

    d = lambda name: default_of(TrainConfig, name)  # noqa: E731
    t = sub.add_parser("train", help="train a johnson (one style) or dumoulin (many styles) network",
                       description="Train a feedforward style network; writes MODEL, MODEL.loss.csv/.png.")
    t.add_argument("--method", choices=["johnson", "dumoulin"], default=None, help=f"(default {d('method')})")
    t.add_argument("--style", action="append", help="style image (johnson: one; dumoulin: repeat)")
    t.add_argument("--content-dir", default=None, help="training photos (default data/content/train)")
    t.add_argument("-o", "--output", help="model file to write (.nst)")
    t.add_argument("--add-style", help="dumoulin: learn this extra style for --from MODEL (only its γ/β rows train)")
    t.add_argument("--from", dest="base",
                   help="the model --add-style extends; without --add-style, fine-tune all of this model "
                        "(same --style images), with its own training options except those given")
    t.add_argument("--max-iterations", type=positive_int, default=None,
                   help="default: 4,000 (johnson), 2,000 × (1 + styles/4) (dumoulin), 1,000 (--add-style)")
    t.add_argument("--batch-size", type=positive_int, default=None, help=f"(default {d('batch_size')})")
    t.add_argument("--image-size", type=positive_int, default=None, help=f"content crops, px (default {d('image_size')})")
    t.add_argument("--style-size", type=style_size_arg, default=None,
                   help=f"long side of each style image, px, or 'stored': the file as it is (default {d('style_size')})")
    add_objective_options(t, TrainConfig, "a paper's loss and optimisation settings (nst.recipes; docs/recipes.md); "
                                          "explicit options win")
    t.add_argument("--style-scales", type=float_list, default=None,
                   help="dumoulin: β multiplier per style, comma-separated, in --style order (default 1 for each)")
    t.add_argument("--learning-rate", type=nonneg_float, default=None, help=f"Adam (default {d('learning_rate')})")
    t.add_argument("--lr-schedule", choices=list(LR_SCHEDULES), default=None,
                   help=f"the learning rate over the run: constant, or decaying to 0 at --max-iterations "
                        f"(default {d('lr_schedule')})")
    t.add_argument("--train-border", type=nonneg_int, default=None,
                   help=f"train with this reflected border, px, as stylize --border adds it (default "
                        f"{d('train_border')}: the bare network; {STYLIZE_BORDER}: what stylize runs)")
    t.add_argument("--train-border-stage", choices=list(BORDER_STAGES), default=None,
                   help=f"where --train-border pads, as stylize --border-stage (default {d('train_border_stage')})")
    t.add_argument("--width", type=nonneg_float, default=None, help=f"channel multiplier (default {d('width')})")
    t.add_argument("--network-output", choices=list(OUTPUTS), default=None,
                   help=f"the network's last step: sigmoid (the papers') or photo_residual (a change to the photo "
                        f"in logit space, starting as the photo) (default {d('network_output')})")
    t.add_argument("--seed", type=int, default=None, help=f"(default {d('seed')})")
    t.add_argument("--checkpoint-every", type=positive_int, default=None, help=f"(default {d('checkpoint_every')})")
    t.add_argument("--checkpoint", help="checkpoint file (default MODEL.ckpt next to the model)")
    t.add_argument("--resume", help="continue from this checkpoint")
    t.add_argument("--time-limit", type=nonneg_float, default=None, help="stop (and save) after this many seconds")
    t.add_argument("--breakdown", action="store_true", help="show content and style loss columns")
    t.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..api import create, load
    from ..io.files import default_content_dir
    from ..methods.training import TrainingInterrupted, write_history

    if not args.output:
        raise NSTError("give the model file to write with -o MODEL.nst")
    out = check_output_file(args.output)
    ckpt = check_output_file(args.checkpoint, "--checkpoint") if args.checkpoint else out.with_suffix(".ckpt")
    options = given(args, TRAIN_OPTIONS)
    if options.get("style_size") == STORED:
        options["style_size"] = None
    content = args.content_dir or default_content_dir()
    run_opts = {"checkpoint": ckpt, "resume": args.resume, "breakdown": args.breakdown}
    verbose = not args.quiet
    try:
        if args.add_style:
            if not args.base:
                raise NSTError("--add-style needs --from MODEL, the model to extend")
            if args.style:
                raise NSTError("--add-style replaces --style")
            base = load(args.base)
            if base.method != "dumoulin":
                raise NSTError(f"{args.base}: only dumoulin models can learn extra styles")
            model = base.add_style(args.add_style, content, args.max_iterations, verbose, **run_opts, **options)
        else:
            if not args.style and not args.resume:
                raise NSTError("give at least one --style image")
            if args.resume and not args.style:
                raise NSTError("--resume needs the same --style images as the original run")
            if args.base:  # fine-tune a whole trained model
                model = load(args.base).fine_tune(args.style, content, args.max_iterations, verbose,
                                                  **run_opts, **options)
            else:
                model = create(args.style, content, method=args.method or "johnson",
                               max_iterations=args.max_iterations, verbose=verbose, **run_opts, **options)
    except TrainingInterrupted as e:
        print(f"nst: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    model.save(out)
    write_history(model.history, out, title=f"{model.method}: {', '.join(model.styles)}")
    if Path(ckpt).exists():
        Path(ckpt).unlink()
    if verbose:
        print(model.summary())
        print(f"model -> {out}  (loss history: {out.with_suffix('.loss.csv')}, {out.with_suffix('.loss.png')})")
    return 0
