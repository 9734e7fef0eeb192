"""Sphinx configuration of centbook's documentation (``make docs``).

The Markdown pages are read by MyST, the API reference comes from the numpydoc docstrings through
autodoc and autosummary, and ``_ext/mmconfig.py`` renders the market maker's configuration
reference from its dataclasses. The compiled modules must be built in place first (``make build``)
so autodoc can import them. Nothing is fetched from the network: no intersphinx.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "centbook"
author = "centbook contributors"
copyright = "centbook contributors"
release = version = "0.1.0"

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "mmconfig",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]

myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

# Names in signatures and docstrings that are not documented objects of their own.
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|asyncio|aiohttp|msgspec|picows|cryptography|ssl|enum|collections)\..*"),
]

html_theme = "furo"
html_title = "centbook"
html_static_path: list[str] = []
