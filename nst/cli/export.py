"""``nst export``: a trained model to ONNX or Core ML, optionally verified against JAX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import check_output_file, check_output_folder, image_size


def add_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("export", help="export a johnson/dumoulin model to ONNX or Core ML",
                       description="Export a trained model for on-device use (ONNX: float NCHW RGB in [0,1]; "
                                   "Core ML: RGB images). Multi-style models take an 'index' style-weight input.")
    e.add_argument("model", help="model file (.nst)")
    e.add_argument("-o", "--output", required=True, help="output file: NAME.onnx or NAME.mlpackage")
    e.add_argument("--format", choices=["onnx", "coreml"], default=None,
                   help="default: from the output suffix (.onnx, .mlpackage)")
    e.add_argument("--fp16", action="store_true", help="float16 weights (half the file size)")
    e.add_argument("--image-size", type=image_size, default=None,
                   help="fix the input size, e.g. 512x384 (HxW); default flexible, at least 64 px")
    e.add_argument("--verify", action="store_true",
                   help="ONNX: compare onnxruntime with the JAX model at 97x131, 256x256, 384x512 (every style)")
    e.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..api import load
    from ..export import SUFFIXES, resolve_format, verify_onnx
    from ..io.files import path_size

    out = Path(args.output)
    fmt = args.format
    if fmt is not None and out.suffix.lower() not in (".onnx", ".mlpackage", ".mlmodel"):
        out = out.with_name(out.name + SUFFIXES[fmt])
    fmt = resolve_format(out, fmt)
    check_output_file(out) if fmt == "onnx" else check_output_folder(out)
    model = load(args.model)
    precision = "float16" if args.fp16 else "float32"
    path = model.export(out, format=fmt, precision=precision, image_size=args.image_size)
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
