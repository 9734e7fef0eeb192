"""The ``mm-config`` directive: the reference of ``centbook mm``'s configuration, made from its dataclasses.

One table per TOML section (top level, ``[strategy]``, ``[risk]``), one row per field of
:class:`centbook.mm.config.MMConfig`, :class:`~centbook.mm.config.StrategyConfig` and
:class:`~centbook.mm.config.RiskConfig`: the key, its type, its default and what it means. The
meaning is the comment written beside the field in the class body, else beside the key in the
module docstring's example file, else the entry of :data:`MEANINGS` below. A field added to a
dataclass appears here without an edit to the docs; one that has no meaning anywhere is reported
as a warning, which ``make docs`` turns into an error.

Parts: :func:`field_comments` (the comments of a module, by section and key),
:func:`config_rows` (the rows of one dataclass), :class:`MMConfigDirective` and :func:`setup`.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import io
import re
import tokenize
from typing import Any

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

log = logging.getLogger(__name__)

MODULE = "centbook.mm.config"
# TOML section -> the dataclass holding its keys, in the order the page shows them
SECTIONS = (("", "MMConfig"), ("strategy", "StrategyConfig"), ("risk", "RiskConfig"),
            ("guard", "GuardConfig"))
# Meanings of the fields that carry no comment in centbook.mm.config, by (section, key).
MEANINGS = {
    ("", "markets"): "tickers to quote (sim: three of its markets when empty)",
    ("", "duration_s"): "seconds to run; 0 runs until SIGINT or SIGTERM",
    ("", "client_order_id_root"): "prefix of every client_order_id; start-up cancels orders that carry it",
    ("", "reconcile_s"): "period of the REST reconciliation of orders and positions",
    ("", "status_s"): "period of the status line",
    ("", "cancel_order_on_pause"): "orders ask the exchange to cancel them when trading pauses",
    ("", "sim_flow_rate"): "sim only: synthetic flow actions per second",
    ("", "inject_disconnect_at_s"): "sim only: drop the WebSocket after this many seconds",
    ("strategy", "fair"): "fair value model (microprice; another model is set on maker.strategy.fair_model)",
    ("strategy", "requote_threshold_bp"): "move a quote only when its price is this far from the target",
    ("strategy", "size_threshold"): "or when its size is this far from the target (hundredths)",
    ("strategy", "min_quote_life_s"): "a quote rests at least this long before it moves",
    ("strategy", "stop_before_close_s"): "stop quoting a market this long before it closes",
    ("strategy", "post_only"): "quotes are post-only (never take liquidity)",
    ("risk", "max_position"): "per market, hundredths: a quote that would pass it is not placed",
    ("risk", "max_total_position"): "all markets, hundredths: at it, only quotes that reduce a position",
    ("risk", "max_open_orders"): "resting quotes at most",
    ("risk", "max_loss_micro"): "a loss beyond it halts quoting (sticky)",
}
_EXAMPLE_KEY = re.compile(r"^\s*([a-z_]+)\s*=.*?#\s*(.+)$")
_EXAMPLE_SECTION = re.compile(r"^\s*\[([a-z_]+)\]\s*$")


def field_comments(module: Any) -> dict[tuple[str, str], str]:
    """Return ``{(section, key): comment}`` from the module's dataclass bodies and docstring example.

    A comment in a class body wins over the docstring's example file, which wins over
    :data:`MEANINGS`.
    """
    comments: dict[tuple[str, str], str] = dict(MEANINGS)
    section = ""
    for line in (module.__doc__ or "").splitlines():
        if m := _EXAMPLE_SECTION.match(line):
            section = m.group(1)
        elif m := _EXAMPLE_KEY.match(line):
            comments[(section, m.group(1))] = m.group(2).strip()
    for section, class_name in SECTIONS:
        source = inspect.getsource(getattr(module, class_name))
        names = {f.name for f in dataclasses.fields(getattr(module, class_name))}
        last_name = None
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names:
                last_name = (tok.string, tok.start[0])
            elif tok.type == tokenize.COMMENT and last_name and tok.start[0] == last_name[1]:
                comments[(section, last_name[0])] = tok.string.lstrip("#").strip()
    return comments


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "required"
    if dataclasses.is_dataclass(value):
        return "(section)"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:_}"
    return repr(value)


def config_rows(cls: type, section: str, comments: dict[tuple[str, str], str]) -> list[tuple[str, ...]]:
    """Return ``(key, type, default, meaning)`` for each field of ``cls`` except nested sections."""
    rows = []
    for field in dataclasses.fields(cls):
        if field.name in {s for s, _ in SECTIONS}:
            continue
        kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
        rows.append((field.name, kind, _default(field), comments.get((section, field.name), "")))
    return rows


def _table(rows: list[tuple[str, ...]]) -> nodes.table:
    headers = ("key", "type", "default", "meaning")
    table = nodes.table(classes=["mm-config"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in (20, 14, 14, 52):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row(headers, literal=False)
    body = nodes.tbody()
    group += body
    for row in rows:
        body += _row(row, literal=True)
    return table


def _row(cells: tuple[str, ...], literal: bool) -> nodes.row:
    row = nodes.row()
    for i, text in enumerate(cells):
        entry = nodes.entry()
        para = nodes.paragraph()
        para += nodes.literal(text=text) if literal and i < 3 else nodes.Text(text)
        entry += para
        row += entry
    return row


class MMConfigDirective(SphinxDirective):
    """``.. mm-config::`` (MyST: a ``{mm-config}`` fence): the configuration tables."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        module = importlib.import_module(MODULE)
        comments = field_comments(module)
        out: list[nodes.Node] = []
        for section, class_name in SECTIONS:
            rows = config_rows(getattr(module, class_name), section, comments)
            for key, _, _, meaning in rows:
                if not meaning:
                    log.warning("mm-config: %s.%s has no meaning: comment it in %s or add it to MEANINGS",
                                class_name, key, MODULE, location=self.get_location())
            title = f"[{section}]" if section else "top level"
            para = nodes.paragraph()
            para += nodes.strong(text=title)
            para += nodes.Text(f" ({class_name})")
            out.append(para)
            out.append(_table(rows))
        return out


def setup(app: Any) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("mm-config", MMConfigDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
