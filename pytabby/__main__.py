"""``python -m pytabby dist OUT --pyodide DIR [--wheel WHEEL]``: a Pyodide folder that knows pytabby."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._dist import DistError, make_dist


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code (2 with one line on stderr on failure)."""
    parser = argparse.ArgumentParser(prog="python -m pytabby")
    commands = parser.add_subparsers(dest="command", required=True)
    dist = commands.add_parser("dist", help="make a Pyodide folder (served at /dist/) that knows pytabby")
    dist.add_argument("out", type=Path, help="the folder to make (emptied first)")
    dist.add_argument("--pyodide", type=Path, required=True,
                      help="a Pyodide you have: node_modules/pyodide or an unpacked Pyodide release")
    dist.add_argument("--wheel", type=Path, help="the pytabby-browser wheel to ship (default: the installed package)")
    args = parser.parse_args(argv)
    try:
        files = make_dist(args.out, args.pyodide, wheel=args.wheel)
    except DistError as exc:
        print(f"python -m pytabby dist: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {', '.join(files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
