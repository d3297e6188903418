"""Which file belongs to which component, and which headers are interfaces.

Defaults for a Linux-like tree: headers under ``include/`` and
``arch/*/include/`` (``<asm/...>``) declare the interface and form interface
components; ``lib/`` and ``arch/*/lib/`` are the shared library;
``kernel/`` is the core; every other directory is a backend component of its
own.  A
``--layers FILE.toml`` overrides this::

    [[component]]
    name = "tick-core"
    kind = "core"               # core | interface | shared-lib | backend | hardware
    paths = ["kernel/time/**"]  # globs relative to the tree root; ** = any depth

    [interface]
    headers = ["include/linux/clockchips.h", "include/linux/clocksource.h"]
    internal = ["do_timer"]     # never interface, even if a header declares it
    exported = true             # EXPORT_SYMBOL'd names no header in the tree declares are interface

The first component whose globs match a file wins; a file no component
matches falls back to the defaults.

``internal`` defaults to :data:`DEFAULT_INTERNAL_SYMBOLS`, the tick-core
internals that old kernels declared in public headers (``do_timer``,
``update_process_times``, ...); ``internal = []`` turns that off.  A named
internal is a reachout even where its definition is not in the tree.

``exported`` (default true): a symbol a file exports with ``EXPORT_SYMBOL*``
and that no header in the tree declares counts as interface: its header is
simply not part of a partial checkout (``kernel/time`` without ``include/``).
A symbol declared only in a non-interface header stays internal.
"""
from __future__ import annotations

import posixpath
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tickscope.sim import shipped
from tickscope.sim.errors import InputError
from tickscope.sim.graph.model import COMPONENT_KINDS

DEFAULT_INTERFACE_HEADERS = ("include/**", "arch/*/include/**")
#: Core internals the tick core owns even where a public header declares them.
DEFAULT_INTERNAL_SYMBOLS = frozenset((
    "do_timer", "xtime_lock", "update_process_times", "profile_tick", "account_steal_time",
    "next_timer_interrupt", "nohz_cpu_mask", "smp_apic_timer_interrupt", "tick_do_timer_cpu",
    "set_intr_gate", "LOCAL_TIMER_VECTOR",
))


def glob_to_regex(pattern: str) -> re.Pattern:
    """Compile a tree glob: ``**`` any depth, ``*`` and ``?`` within one path part.

    A pattern without wildcards also matches everything below it, so
    ``kernel/time`` means the directory.
    """
    pattern = pattern.strip().removeprefix("./")
    if pattern.endswith("/"):
        pattern += "**"
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    body = "".join(out)
    if not any(ch in pattern for ch in "*?"):
        body += "(?:/.*)?"
    return re.compile(body + r"\Z")


@dataclass
class ComponentRule:
    name: str
    kind: str
    paths: list
    regexes: list = field(default_factory=list)


@dataclass
class Layers:
    """Component assignment and interface headers for a C tree."""

    components: list = field(default_factory=list)
    interface_headers: list = field(default_factory=lambda: list(DEFAULT_INTERFACE_HEADERS))
    internal_symbols: set = field(default_factory=lambda: set(DEFAULT_INTERNAL_SYMBOLS))
    origin: str = "defaults"
    exports_are_interface: bool = True

    def __post_init__(self):
        self._header_res = [glob_to_regex(p) for p in self.interface_headers]
        for c in self.components:
            c.regexes = [glob_to_regex(p) for p in c.paths]

    def assign(self, relpath: str) -> tuple[str, str]:
        """Return ``(component, kind)`` for a file path relative to the tree root."""
        for c in self.components:
            if any(r.match(relpath) for r in c.regexes):
                return c.name, c.kind
        return default_component(relpath)

    def is_interface_header(self, relpath: str) -> bool:
        return relpath.endswith(".h") and any(r.match(relpath) for r in self._header_res)


def default_component(relpath: str) -> tuple[str, str]:
    """The default component of a file: see the module docstring."""
    parts = relpath.split("/")
    if parts[0] == "include":
        return "include", "interface"
    if parts[0] == "arch" and len(parts) > 3 and parts[2] == "include":  # arch/x86/include/asm/...
        return "/".join(parts[:3]), "interface"
    if parts[0] == "lib":
        return "lib", "shared-lib"
    if parts[0] == "arch" and len(parts) > 3 and parts[2] == "lib":
        return "/".join(parts[:3]), "shared-lib"
    if parts[0] == "kernel":
        return "kernel", "core"
    directory = posixpath.dirname(relpath)
    return (directory or "."), "backend"


_TOP_KEYS = {"component", "interface", "description", "name"}
_COMPONENT_KEYS = {"name", "kind", "paths", "description"}
_INTERFACE_KEYS = {"headers", "internal", "exported"}


def parse_layers(data: dict, origin: str) -> Layers:
    """Validate a parsed layers table; errors name *origin* and the key at fault."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise InputError(f"{origin}: unknown key {sorted(unknown)[0]!r} (allowed: component, interface, description)")
    rules = []
    for i, comp in enumerate(data.get("component", [])):
        where = f"{origin}: component[{i}]"
        if not isinstance(comp, dict):
            raise InputError(f"{where}: must be a table with name, kind, paths")
        bad = set(comp) - _COMPONENT_KEYS
        if bad:
            raise InputError(f"{where}: unknown key {sorted(bad)[0]!r} (allowed: name, kind, paths, description)")
        name = comp.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{where}.name: must be a non-empty string")
        kind = comp.get("kind")
        if kind not in COMPONENT_KINDS:
            raise InputError(f"{where}.kind: {kind!r} is not one of {', '.join(COMPONENT_KINDS)}")
        paths = comp.get("paths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise InputError(f"{where}.paths: must be a non-empty list of globs")
        rules.append(ComponentRule(name, kind, paths))
    iface = data.get("interface", {})
    if not isinstance(iface, dict):
        raise InputError(f"{origin}: interface must be a table")
    bad = set(iface) - _INTERFACE_KEYS
    if bad:
        raise InputError(f"{origin}: interface.{sorted(bad)[0]}: unknown key (allowed: headers, internal, exported)")
    headers = iface.get("headers", list(DEFAULT_INTERFACE_HEADERS))
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
        raise InputError(f"{origin}: interface.headers: must be a list of globs")
    internal = iface.get("internal", sorted(DEFAULT_INTERNAL_SYMBOLS))
    if not isinstance(internal, list) or not all(isinstance(h, str) for h in internal):
        raise InputError(f"{origin}: interface.internal: must be a list of symbol names")
    exported = iface.get("exported", True)
    if not isinstance(exported, bool):
        raise InputError(f"{origin}: interface.exported: must be true or false")
    return Layers(rules, list(headers), set(internal), origin, exported)


def load_layers(path) -> Layers:
    """Load a ``--layers`` TOML file: the user's own, or a shipped one.

    A *path* that is not a file but spells a shipped layers file (``linux``,
    ``linux.toml`` or ``assets/layers/linux.toml`` from any directory) loads
    that file (see :mod:`tickscope.sim.shipped`).

    Raises
    ------
    InputError
        If the file is missing (naming the shipped layers files), not TOML, or
        a key is wrong.
    """
    path = Path(path)
    if not path.is_file():
        name = shipped.name_in("layers", path)
        if name is not None:
            return shipped_layers(name)
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a layers file")
        raise InputError(f"{path}: no such layers file (shipped layers files: {shipped.describe('layers')})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))   # -sig: a leading BOM (Windows editors) is read past
    except FileNotFoundError:
        raise InputError(f"{path}: no such layers file (shipped layers files: {shipped.describe('layers')})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    return parse_layers(data, str(path))


def shipped_layers(name: str = "linux") -> Layers:
    """The layers file shipped in ``assets/layers/NAME.toml``."""
    res = shipped.folder("layers").joinpath(f"{name}.toml")
    return parse_layers(tomllib.loads(res.read_text(encoding="utf-8")), f"assets/layers/{name}.toml")
