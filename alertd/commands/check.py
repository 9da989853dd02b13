"""`alertd check`."""

from __future__ import annotations

import argparse
import sys

from alertd.config import Settings


def main(settings: Settings, args: argparse.Namespace) -> int:
    print("alertd check: not built yet", file=sys.stderr)
    return 2
