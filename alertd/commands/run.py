"""`alertd run`."""

from __future__ import annotations

import argparse
import sys

from alertd.config import Settings


def main(settings: Settings, args: argparse.Namespace) -> int:
    print("alertd run: not built yet", file=sys.stderr)
    return 2
