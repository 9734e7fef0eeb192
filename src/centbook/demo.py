"""The import path ``centbook.demo`` (``python -m centbook.demo``): :mod:`centbook.cli.demo`."""
import sys

from centbook.cli.demo import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
