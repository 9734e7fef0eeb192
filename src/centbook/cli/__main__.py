"""``python -m centbook.cli``: the ``centbook`` command."""
import sys

from centbook.cli import main

sys.exit(main())
