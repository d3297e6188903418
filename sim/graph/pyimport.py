"""Dogfood: the same graph for a Python project, built from its imports.

Each top-level package folder (one with ``__init__.py``) is a component and
each module a node; an import of another package's module is an
``interface`` edge, within a package ``internal``.  When the project's
``pyproject.toml`` maps folders into one namespace (``sim/`` imported as
``tickscope.sim``) both spellings resolve.  ``forbidden`` contracts of
import-linter in ``pyproject.toml`` are checked by the ``layering`` rule, and
component cycles by the ``cycles`` rule.
"""
from __future__ import annotations

import ast
import os
import tomllib
from pathlib import Path

from tickscope.sim.errors import InputError
from tickscope.sim.graph.model import ArchGraph, Evidence

SKIP_DIRS = {"tests", "test", "build", "dist", "docs", "node_modules"}


def _project(root: Path) -> tuple[str, list]:
    pp = root / "pyproject.toml"
    if not pp.is_file():
        return "", []
    try:
        data = tomllib.loads(pp.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return "", []
    name = data.get("project", {}).get("name", "").replace("-", "_")
    contracts = data.get("tool", {}).get("importlinter", {}).get("contracts", [])
    return name, [c for c in contracts if c.get("type") == "forbidden"]


def import_python(root) -> ArchGraph:
    """Graph the imports between the packages of the Python project at *root*.

    Raises
    ------
    InputError
        If *root* is not a directory or holds no package.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: {'not a directory (give the tree it is in)' if root.exists() else 'no such directory'}")
    project, contracts = _project(root)
    packages = sorted(p.name for p in root.iterdir()
                      if p.is_dir() and (p / "__init__.py").is_file() and not p.name.startswith(".") and p.name not in SKIP_DIRS)
    if not packages:
        raise InputError(f"{root}: no Python package (a folder with __init__.py) at the top")
    namespaced = bool(project) and project not in packages
    graph = ArchGraph(name=project or root.name, source=str(root))
    graph.meta["python"] = True
    modules: dict[str, tuple[str, str]] = {}  # module -> (component, relpath)
    alias: dict[str, str] = {}  # spelling -> canonical prefix
    for pkg in packages:
        canonical = f"{project}.{pkg}" if namespaced else pkg
        graph.add_component(canonical, "core", paths=[pkg + "/"])
        alias[pkg] = canonical
        alias[canonical] = canonical
        for dirpath, dirnames, filenames in os.walk(root / pkg):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
            for f in sorted(filenames):
                if not f.endswith(".py"):
                    continue
                rel = (Path(dirpath) / f).relative_to(root).as_posix()
                parts = rel[:-3].split("/")
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                mod = ".".join([canonical] + parts[1:])
                modules[mod] = (canonical, rel)
                graph.add_node(mod, "module", canonical, rel, 1)

    def canonicalise(name: str) -> str:
        parts = name.split(".")
        for spelling in (".".join(parts[:2]), parts[0]):
            if spelling in alias:
                return alias[spelling] + name[len(spelling):]
        return name

    def known(name: str):
        while name:
            if name in modules:
                return name
            name = name.rpartition(".")[0]
        return None

    forbidden_ext = []
    for c in contracts:
        for src in c.get("source_modules", []):
            for bad in c.get("forbidden_modules", []):
                forbidden_ext.append((canonicalise(src), canonicalise(bad), c.get("name", "forbidden")))
    graph.meta["forbidden"] = forbidden_ext

    for mod, (comp, rel) in sorted(modules.items()):
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(text, filename=rel)
        except SyntaxError as exc:
            graph.warnings.append(f"{rel}: does not parse (line {exc.lineno}); its imports are not graphed")
            continue
        lines = text.splitlines()
        is_pkg = rel.endswith("__init__.py")
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".")
                    base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [f"{prefix}.{a.name}" for a in node.names] or [prefix]
            for raw in targets:
                target = known(canonicalise(raw))
                ev = Evidence(rel, node.lineno, lines[node.lineno - 1].strip() if node.lineno <= len(lines) else "")
                if target is None:
                    ext = raw.split(".")[0]
                    if any(_under(mod, s) and _under(raw, b) for s, b, _n in forbidden_ext):
                        graph.add_node(ext, "external", "", "", 0)
                        graph.add_edge(mod, ext, "interface", ev, dep="")
                    continue
                if target == mod:
                    continue
                tcomp = modules[target][0]
                graph.add_edge(mod, target, "internal" if tcomp == comp else "interface", ev, dep=tcomp)
    return graph


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")
