"""One line per scenario validation error, naming the file, the dotted key and what is allowed.

Turns pydantic's error dicts into the messages ``tickscope`` prints (exit status 2) and the app shows:
an unknown key with a did-you-mean, a value out of range with both bounds (as durations where the field
is one), a literal with the allowed choices.
"""
from __future__ import annotations

import difflib
import typing

from pydantic import BaseModel

from tickscope.sim.units import format_duration


def describe(err: dict, source: str, root: type[BaseModel]) -> str:
    """The message for one pydantic error *err* of validating *root* from *source*."""
    loc = tuple(err["loc"])
    key = _dotted(loc) if loc else "(top level)"
    typ = err["type"]
    if typ == "extra_forbidden":
        names = _section_fields(root, loc)
        hint = difflib.get_close_matches(str(loc[-1]), names, n=1)
        msg = f"{source}: {key}: unknown key"
        if hint:
            msg += f" (did you mean '{_dotted(loc[:-1] + (hint[0],))}'?)"
        elif names:
            msg += f"; allowed here: {', '.join(names)}"
        return msg
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        field = _field_for(root, loc)
        lo = hi = None
        if field is not None:
            for m in field.metadata:
                lo = getattr(m, "ge", lo) if getattr(m, "ge", None) is not None else lo
                hi = getattr(m, "le", hi) if getattr(m, "le", None) is not None else hi
        if lo is None and hi is None:   # a field the models do not lead to: the bound broken
            lo, hi = ctx.get("ge", ctx.get("gt")), ctx.get("le", ctx.get("lt"))
        extra = (field.json_schema_extra or {}) if field is not None else {}
        duration = isinstance(extra, dict) and extra.get("unit") == "ns" and isinstance(value, int)
        if duration:
            value, lo, hi = (format_duration(v) if isinstance(v, int) else v for v in (value, lo, hi))
        rng = f"{lo if lo is not None else ''}..{hi if hi is not None else ''}"
        return f"{source}: {key}: {value if duration else repr(value)} is out of range (allowed {rng})"
    if typ == "literal_error":
        return f"{source}: {key}: {value!r} is not allowed (allowed: {ctx.get('expected')})"
    if typ == "missing":
        return f"{source}: {key}: required key is missing"
    if typ == "model_type" and loc:   # a whole table given a value: "--set machine=3"
        names = _section_fields(root, loc + ("",))
        if isinstance(loc[-1], int):   # an item of a list of tables
            first = f"{names[0]} = ..., " if names else ""
            return f"{source}: {key}: is an inline table ({{ {first}... }}), not a value (got {value!r})"
        return (f"{source}: {key}: is a table ([{key}]), not a value (got {value!r}); set one of its keys"
                + (f", e.g. {key}.{names[0]}" if names else ""))
    text = err["msg"]
    if text.startswith("Value error, "):
        text = text[len("Value error, "):]
    if loc:
        # a message that already quotes the value (our validators' "unknown C-state 'C99'") is not repeated
        shown = typ == "value_error" and (isinstance(value, dict) or repr(value) in text)
        return f"{source}: {key}: {text}" if shown else f"{source}: {key}: {text} (got {value!r})"
    return f"{source}: {text}"


def _dotted(loc: tuple) -> str:
    """``("workload", "timers", 0, "period")`` -> ``workload.timers[0].period``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _walk(root: type[BaseModel], loc: tuple):
    """(field, model it holds) at *loc*, list indices and optional tables walked through; (None, None) if none."""
    model, field = root, None
    for part in loc:
        if isinstance(part, int):   # an item of a list field: the list's model stays current
            continue
        if model is None:
            return None, None
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        field = fields.get(part)
        if field is None:
            return None, None
        model = _model_in(field.annotation)
    return field, model


def _field_for(root: type[BaseModel], loc: tuple):
    """The model field at *loc*, or None."""
    return _walk(root, loc)[0]


def _section_fields(root: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed in the table holding *loc*'s last key."""
    model = _walk(root, loc[:-1])[1] if loc[:-1] else root
    return [f.alias or n for n, f in model.model_fields.items()] if model is not None else []


def _model_in(annotation):
    """The BaseModel a field holds, directly, in a list or as an optional table (else None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
