"""``nst web build OUT`` / ``nst web serve OUT``: the on-device page (onnxruntime-web) and its local server."""

from __future__ import annotations

import argparse

from .args import int_at_least


def add_parser(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("web", help="the browser page that runs the exported models on this device",
                       description="A static page that stylizes photos and webcam frames in the browser with "
                                   "onnxruntime-web; no image leaves the browser.")
    ws = w.add_subparsers(dest="web_command", required=True, parser_class=type(w))
    b = ws.add_parser("build", help="export the models to ONNX and write the page into OUT",
                      description="Write the page, the pinned onnxruntime-web wasm assets (npm ci in web/ when "
                                  "they are missing), the models as ONNX and a manifest into OUT.")
    b.add_argument("out", help="output folder (new, empty, or an earlier build, which is replaced)")
    _add_build_options(b)
    s = ws.add_parser("serve", help="serve OUT on 127.0.0.1 (building it first when it holds no page)",
                      description="Serve a built page on 127.0.0.1 with the cross-origin isolation headers "
                                  "that multi-threaded wasm needs. Builds OUT first when it holds no page.")
    s.add_argument("out", help="the page's folder (built first when it holds no page)")
    s.add_argument("--port", type=int_at_least(0, "a port number"), default=8000, help="port (default 8000; 0: any free)")
    s.add_argument("--rebuild", action="store_true", help="build OUT again before serving")
    s.add_argument("-v", "--verbose", action="store_true", help="log every request")
    _add_build_options(s)


def _add_build_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", action="append", default=None, metavar="MODEL",
                   help="a .nst model to include (repeatable; default: the reference models in results/models/)")
    p.add_argument("--precision", choices=["float32", "float16", "both"], default="both",
                   help="weights of the exported models (default both; float16 halves the download)")
    p.add_argument("--no-verify", action="store_true", help="skip checking each export against JAX")
    p.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..web import build_site, read_manifest, serve_site

    precisions = ["float32", "float16"] if args.precision == "both" else [args.precision]

    def build() -> None:
        build_site(args.out, models=args.model, precisions=precisions, verify=not args.no_verify,
                   verbose=not args.quiet)

    if args.web_command == "build":
        build()
        return 0
    if args.rebuild or read_manifest(args.out, quiet=True) is None:
        build()
    serve_site(args.out, port=args.port, verbose=args.verbose)
    return 0
