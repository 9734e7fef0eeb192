"""Every ```python block of README.md and docs/*.md, run as written, one test per block.

Each block is a whole program: the test writes it to a file and runs it in a fresh interpreter,
as a reader who copies it would. Blocks that need an exchange start the embedded one themselves
(``centbook.sim.run_sim`` on port 0, 127.0.0.1), so nothing here reaches another address. A block
with top-level ``await`` is compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` and run by
``asyncio.run``. A ``# prints: TEXT`` comment is a promise: TEXT must be a line of what the block
printed. Text that is not meant to run uses another fence (``sh``, ``text``, ``toml``,
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
PRINTS = re.compile(r"#\s*prints:\s*(.+?)\s*$", re.M)
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


def run_block(code: str, tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    """Run one block as a program from its own file in ``tmp_path``."""
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    return subprocess.run([sys.executable, "-c", RUNNER, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=100)


def test_a_block_may_await_at_top_level(tmp_path):
    proc = run_block("import asyncio\n\nawait asyncio.sleep(0)\nprint('awaited')\n", tmp_path, "top_level")
    assert (proc.returncode, proc.stdout) == (0, "awaited\n"), proc.stderr


def test_the_pages_have_examples():
    found = {page.name for page, _, _ in EXAMPLES}
    assert {"README.md", "book.md", "feed.md", "rest.md", "sim.md", "market-maker.md"} <= found


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "page,line,code", EXAMPLES, ids=[f"{p.relative_to(ROOT)}:{line}" for p, line, _ in EXAMPLES]
)
def test_example_runs(page, line, code, tmp_path):
    proc = run_block(code, tmp_path, f"{page.stem.replace('-', '_')}_{line}")
    assert proc.returncode == 0, (
        f"the example at {page.relative_to(ROOT)}:{line} failed (exit {proc.returncode}):\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    printed = [out.strip() for out in proc.stdout.splitlines()]
    for expected in PRINTS.findall(code):
        assert expected in printed, (
            f"the example at {page.relative_to(ROOT)}:{line} promises {expected!r}; it printed:\n"
            f"{proc.stdout}"
        )
