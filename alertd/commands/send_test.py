"""`alertd send-test`."""

from __future__ import annotations

import argparse
import sys

from alertd.config import Settings


def main(settings: Settings, args: argparse.Namespace) -> int:
    print("alertd send-test: not built yet", file=sys.stderr)
    return 2
