"""Files shipped in the package's ``assets/`` folders, found by name or by their checkout path.

Commands and docs spell a shipped file the way a checkout holds it (``--layers
assets/layers/linux.toml``).  That path exists only when the current directory
is a checkout; an installed package keeps the file inside ``tickscope.assets``.
:func:`find` maps such a spelling, or a bare ``NAME`` / ``NAME.toml``, to the
shipped file, read with :mod:`importlib.resources` so it works from a wheel,
an editable install or a checkout alike.  A path that exists is always the
user's own file and is never looked up here.
"""
from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import PurePath

#: The suffix every shipped data file has.
SUFFIX = ".toml"


def folder(kind: str) -> Traversable:
    """The shipped folder ``assets/KIND`` (``layers``, ``arch``, ``demos``, ``presets``)."""
    return resources.files("tickscope.assets").joinpath(kind)


def names(kind: str) -> list[str]:
    """Names (without ``.toml``) of the files shipped in ``assets/KIND``, sorted."""
    return sorted(r.name[:-len(SUFFIX)] for r in folder(kind).iterdir()
                  if r.name.endswith(SUFFIX) and r.is_file())


def name_in(kind: str, given) -> str | None:
    """The name of the file in ``assets/KIND`` that *given* spells, or None.

    *given* may be a bare ``NAME`` or ``NAME.toml``, or a relative path ending in
    ``assets/KIND/NAME.toml`` (the file's place in a checkout, given from any
    directory).  An absolute path never names a shipped file: it is the user's
    own, even where it is missing.

    Parameters
    ----------
    kind : str
        The folder under ``assets/``.
    given : str or os.PathLike
        What the user wrote.

    Returns
    -------
    str or None
        The shipped file's name without ``.toml``, when there is such a file.
    """
    path = PurePath(given)
    if path.is_absolute() or not path.parts:
        return None
    parts = path.parts
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) >= 3 and parts[-3:-1] == ("assets", kind) and parts[-1].endswith(SUFFIX):
        name = parts[-1]
    else:
        return None
    name = name.removesuffix(SUFFIX)
    return name if name in names(kind) else None


def describe(kind: str) -> str:
    """``NAME, NAME`` of what ``assets/KIND`` ships, for error messages."""
    return ", ".join(names(kind)) or "none"
