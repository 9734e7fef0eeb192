"""``python -m centbook.sim [options]`` is ``centbook sim [options]``."""

import sys

from centbook.cli import main

sys.exit(main(["sim", *sys.argv[1:]]))
