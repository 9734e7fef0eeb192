"""Every ```python block of README.md and docs/*.md, run as written, one test per block.

Each block is a whole program: the test writes it to a file and runs it in a fresh interpreter,
as a reader who copies it would. Blocks that need an exchange start the embedded one themselves
(``centbook.sim.run_sim`` on port 0, 127.0.0.1), so nothing here reaches another address. A block
with top-level ``await`` is compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` and run by
``asyncio.run``. Text that is not meant to run uses another fence (``sh``, ``text``, ``toml``,
``cython``) or, for Python that needs a module the reader builds first, a ``{code-block} python``
directive.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)

# Runs a block from its file: top-level await allowed, the coroutine it then makes run to the end.
RUNNER = """
import ast, asyncio, inspect, sys
path = sys.argv[1]
code = compile(open(path).read(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__", "__file__": path})
if inspect.iscoroutine(result):
    asyncio.run(result)
"""


def blocks(page: Path) -> list[tuple[int, str]]:
    """Return ``(line, code)`` for each ```python block of a page (line of its opening fence)."""
    text = page.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in FENCE.finditer(text)]


EXAMPLES = [(page, line, code) for page in PAGES for line, code in blocks(page)]


def test_the_pages_have_examples():
    found = {page.name for page, _, _ in EXAMPLES}
    assert {"README.md", "book.md", "feed.md", "rest.md", "sim.md", "market-maker.md"} <= found


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "page,line,code", EXAMPLES, ids=[f"{p.relative_to(ROOT)}:{line}" for p, line, _ in EXAMPLES]
)
def test_example_runs(page, line, code, tmp_path):
    script = tmp_path / f"{page.stem.replace('-', '_')}_{line}.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=100)
    assert proc.returncode == 0, (
        f"the example at {page.relative_to(ROOT)}:{line} failed (exit {proc.returncode}):\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
