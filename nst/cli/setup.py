"""``nst weights`` (fetch and verify the VGG19 weights) and ``nst demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from ..demo import DEMO_SIZE, DEMO_STEPS

    w = sub.add_parser("weights", help="fetch and verify the VGG19 weights; print where they are")
    w.add_argument("--quiet", "-q", action="store_true")
    d = sub.add_parser("demo", help="stylize the evaluation photos and write a comparison grid")
    d.add_argument("-o", "--output", default="nst-demo", help="output folder (default nst-demo)")
    d.add_argument("--size", type=positive_int, default=DEMO_SIZE, help=f"long side in px (default {DEMO_SIZE})")
    d.add_argument("--steps", type=positive_int, default=DEMO_STEPS, help=f"Gatys L-BFGS steps (default {DEMO_STEPS})")
    d.add_argument("-q", "--quiet", action="store_true")


def run_weights(args: argparse.Namespace) -> int:
    from ..io.weights import BIN_SHA256, weights_path

    path = weights_path()
    if not args.quiet:
        print(f"VGG19 weights (ImageNet, Simonyan & Zisserman 2014, CC BY 4.0; source sha256 {BIN_SHA256[:16]}…):")
    print(path)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo as demo

    demo(Path(args.output), size=args.size, steps=args.steps, verbose=not args.quiet)
    return 0
