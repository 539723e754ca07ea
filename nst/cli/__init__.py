"""The ``nst`` command.  User errors print one line and exit non-zero; no tracebacks.

One module per subcommand (`stylize`, `train`, `export`, `setup` for ``weights`` and ``demo``),
each with ``add_parser`` and ``run``; every method goes through the common interface
(`nst.create`, `nst.load`); ``web`` builds and serves the browser page (`nst.web`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..errors import NSTError
from ..version import __version__
from . import export, setup, stylize, train, web
from .args import EXIT_INTERRUPTED, EXIT_USAGE, EXIT_USER_ERROR, OneLineParser

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "EXIT_USER_ERROR", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="nst", description="Neural style transfer, three generations: gatys (optimise the "
                                              "image), johnson and dumoulin (trained networks).")
    p.add_argument("--version", action="version", version=f"nst {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    stylize.add_parser(sub)
    train.add_parser(sub)
    export.add_parser(sub)
    setup.add_parsers(sub)
    web.add_parser(sub)
    return p


COMMANDS = {"stylize": stylize.run, "train": train.run, "export": export.run, "weights": setup.run_weights,
            "demo": setup.run_demo, "web": web.run}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except NSTError as e:
        print(f"nst: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("nst: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
