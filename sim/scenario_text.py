"""Scenario TOML that keeps the user's own text: comments, key order and the spelling of unchanged values.

A scenario edited in the form and saved used to be re-rendered from its data, so every comment in the
file was lost and ``irq_latency = "1000us"`` came back as ``"1ms"``.  :func:`edit_text` writes an edit
instead: it compares the scenario's data before and after (both from ``Scenario.to_dict()``, so an
unchanged value compares equal however the file spelled it), and changes in the document only the keys
whose values changed, removes the keys that went, and adds the new ones at the end of their table.  The
caller (``scenario.text_of``) reads the result back and uses it only when it gives exactly the new
scenario.
"""
from __future__ import annotations

import tomlkit
from tomlkit.exceptions import TOMLKitError

from tickscope.sim.scenario import BOM


def _value(value, top: bool):
    """*value* as a tomlkit item: a section (top level) as a table, a nested table or a list's tables inline."""
    if isinstance(value, dict):
        t = tomlkit.table() if top else tomlkit.inline_table()
        for k, v in value.items():
            t[k] = _value(v, False)
        return t
    if isinstance(value, list):
        a = tomlkit.array()
        for v in value:
            a.append(_value(v, False))
        return a
    return value


def _apply(container, old: dict, new: dict, top: bool) -> None:
    """Make *container* (a tomlkit table holding *old*) hold *new*, touching only what differs."""
    for key in old:
        if key not in new and key in container:
            del container[key]
    for key, value in new.items():
        before = old.get(key)
        if key in old and before == value:
            continue   # unchanged: the document keeps its spelling, or leaves the default unwritten
        current = container.get(key) if key in container else None
        if (isinstance(value, dict) and isinstance(before, dict)
                and isinstance(current, (tomlkit.items.Table, tomlkit.items.InlineTable))):
            _apply(current, before, value, False)
        else:
            container[key] = _value(value, top)


def edit_text(text: str, old: dict, new: dict) -> str | None:
    """The TOML text of scenario data *new*, as an edit of *text* whose scenario data was *old*; None when
    *text* cannot be parsed or edited (the caller then renders *new* from its data and checks what it gets)."""
    try:
        # tomlkit refuses a byte order mark; the edit is written without one (a BOM is optional in UTF-8)
        doc = tomlkit.parse(text.removeprefix(BOM))
        _apply(doc, old, new, True)
        return tomlkit.dumps(doc)
    except (TOMLKitError, ValueError, TypeError, KeyError):
        return None
