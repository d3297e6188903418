"""Scripted demos: a list of steps that load, change, run and annotate scenarios.

A demo is TOML with ``[[step]]`` tables (optional top-level ``title`` and
``description``), or JSON lines with one step object per line (blank lines and
lines starting with ``#`` are skipped).  Every step has an ``action`` and the
keys of that action:

============  =====================================================================
action        keys
============  =====================================================================
preset        ``name``: a shipped preset (``tickscope presets``)
set           ``keys``: table of ``dotted.key = value`` (``hypervisor.backend``,
              ``core.changes``, ``kernel.nohz``, ``machine.cstates`` ...)
run           ``until``: simulated time (``"300ms"``); ``seconds``: playback time
              over which the raster is revealed (default 1.0)
caption       ``title``, ``body`` (default ""); ``seconds`` to hold (default 0)
highlight     ``nodes``: symbol ids, ``edges``: ``[[from, to], ...]``; ``model``:
              architecture model (default: the one bound to the scenario's backend)
zoom          ``from``, ``to``: the raster window (durations)
markers       ``markers``: ``[{at = "100ms", name = "change"}, ...]``
compare       ``preset`` and/or ``keys``: scenario B (default: the current one),
              run to the same ``until`` and shown below A
view          ``name``: raster, histograms, drift, graph or all
pause         ``seconds``: hold the current picture (0 < seconds <= 60)
============  =====================================================================

:func:`load` validates everything -- keys, types, durations, presets, the
scenario after every ``set`` and the graph nodes of every ``highlight`` --
and raises :class:`DemoError` naming the file, the step number (1-based),
the action and the key.  :func:`scenes` plays a validated demo without Qt:
it yields the picture after each step; both the app's player and the video
renderer draw those.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

from tickscope.sim import scenario as scen, shipped
from tickscope.sim.errors import InputError

ACTIONS = {
    # action: (required keys, optional keys)
    "preset": ({"name"}, set()),
    "set": ({"keys"}, set()),
    "run": ({"until"}, {"seconds"}),
    "caption": ({"title"}, {"body", "seconds"}),
    "highlight": (set(), {"nodes", "edges", "model"}),
    "zoom": ({"from", "to"}, set()),
    "markers": ({"markers"}, set()),
    "compare": (set(), {"preset", "keys"}),
    "view": ({"name"}, set()),
    "pause": ({"seconds"}, set()),
}
VIEWS = ("raster", "histograms", "drift", "graph", "all")
DEFAULT_RUN_SECONDS = 1.0
MAX_SECONDS = 60.0
MAX_STEPS = 500
MAX_SCRIPT_BYTES = 1024 * 1024
BACKEND_MODELS = {"vmi-2007": "linux-2.6.21", "vmi-clockevents": "linux-2.6.22"}
"""Backend -> the architecture model it is bound to; every other backend -> :data:`DEFAULT_MODEL`."""
DEFAULT_MODEL = "linux-6.x"


class DemoError(InputError):
    """A demo script is malformed; the message names the file, step and key."""


def model_for_backend(backend: str | None) -> str:
    """The architecture model a backend binds to (linux-2.6.21 for vmi-2007, ...)."""
    return BACKEND_MODELS.get(backend or "", DEFAULT_MODEL)


@dataclass
class Demo:
    """A validated demo.

    Attributes
    ----------
    title, description : str
        From the script (the file name when missing).
    steps : list of dict
        Each ``{"action": ..., <keys>}`` with durations converted to int ns.
    source : str
        Where it came from (for messages).
    """

    title: str
    description: str
    steps: list[dict]
    source: str = "<demo>"


@dataclass
class Scene:
    """What the demo shows after a step (immutable snapshots; :func:`scenes` copies)."""

    scenario: scen.Scenario | None = None
    until_ns: int | None = None
    view: str = "raster"
    caption: tuple[str, str] | None = None
    highlight: dict = field(default_factory=dict)
    model: str | None = None
    window: tuple[int, int] | None = None
    markers: list = field(default_factory=list)
    compare: scen.Scenario | None = None
    results: object = None
    compare_results: object = None


# -- parsing -------------------------------------------------------------------

def builtin_demos() -> dict[str, str]:
    """Shipped demo names -> titles."""
    out = {}
    for res in sorted(resources.files("tickscope.assets").joinpath("demos").iterdir(), key=lambda r: r.name):
        if res.name.endswith(".toml"):
            data = tomllib.loads(res.read_text(encoding="utf-8"))
            out[res.name[:-5]] = str(data.get("title", res.name[:-5]))
    return out


def load(name_or_path) -> Demo:
    """Load and validate a built-in demo by name, or a ``.toml`` / ``.jsonl`` / ``.json`` file.

    A built-in demo may also be given as ``NAME.toml`` or by its checkout path
    ``assets/demos/NAME.toml`` from any directory (a file that exists wins).

    Raises
    ------
    DemoError
        For an unknown name, an unreadable file or any invalid step.
    """
    text_name = str(name_or_path)
    path = Path(text_name)
    shipped_name = None if path.is_file() else shipped.name_in("demos", path)
    if shipped_name is not None:   # assets/demos/NAME.toml given outside a checkout, or NAME.toml
        text_name = shipped_name
    elif path.suffix.lower() in (".toml", ".jsonl", ".json") or path.exists():
        if not path.is_file():
            raise DemoError(f"{path}: no such demo script (built-in demos: {', '.join(builtin_demos())})")
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise DemoError(f"{path}: larger than {MAX_SCRIPT_BYTES} bytes; not a demo script")
        try:
            text = path.read_text(encoding="utf-8-sig")   # -sig: a leading BOM (Windows editors) is read past
        except UnicodeDecodeError:
            raise DemoError(f"{path}: not UTF-8 text") from None
        fmt = "toml" if path.suffix.lower() == ".toml" else "jsonl"
        return loads(text, str(path), fmt=fmt, default_title=path.stem)
    names = builtin_demos()
    if text_name not in names:
        raise DemoError(f"no demo named {text_name!r}; built-in demos: {', '.join(names)} (or give a .toml/.jsonl file)")
    res = resources.files("tickscope.assets").joinpath("demos", f"{text_name}.toml")
    return loads(res.read_text(encoding="utf-8"), f"demo {text_name}", fmt="toml", default_title=text_name)


def loads(text: str, source: str = "<demo>", fmt: str = "toml", default_title: str = "demo") -> Demo:
    """Parse and validate a demo script (*fmt* ``"toml"`` or ``"jsonl"``)."""
    if fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DemoError(f"{source}: not valid TOML ({exc})") from None
        unknown = sorted(set(data) - {"title", "description", "step"})
        if unknown:
            raise DemoError(f"{source}: unknown top-level key {unknown[0]!r} (allowed: title, description, [[step]])")
        raw_steps = data.get("step", [])
        if not isinstance(raw_steps, list):
            raise DemoError(f"{source}: 'step' must be an array of tables ([[step]])")
        title, description = data.get("title", default_title), data.get("description", "")
        for key, value in (("title", title), ("description", description)):
            if not isinstance(value, str):
                raise DemoError(f"{source}: {key} must be a string")
    elif fmt == "jsonl":
        raw_steps, title, description = [], default_title, ""
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise DemoError(f"{source}: line {lineno}: malformed JSON ({exc})") from None
            raw_steps.append(obj)
    else:
        raise ValueError(f"unknown demo format {fmt!r}")
    if not raw_steps:
        raise DemoError(f"{source}: no steps (add [[step]] tables)")
    if len(raw_steps) > MAX_STEPS:
        raise DemoError(f"{source}: {len(raw_steps)} steps; a demo has at most {MAX_STEPS}")
    steps = [_check_step(source, i, raw) for i, raw in enumerate(raw_steps, 1)]
    demo = Demo(title=title, description=description, steps=steps, source=source)
    _check_flow(demo)
    return demo


def _fail(source, n, action, key, message) -> DemoError:
    where = f"{source}: step {n}" + (f" ({action})" if action else "") + (f": {key}" if key else "")
    return DemoError(f"{where}: {message}")


def _duration(source, n, action, key, value) -> int:
    if isinstance(value, bool):
        raise _fail(source, n, action, key, f"{value!r} is not a duration")
    try:
        ns = scen.parse_duration(value)
    except (ValueError, TypeError) as exc:
        raise _fail(source, n, action, key, str(exc)) from None
    if ns < 0:
        raise _fail(source, n, action, key, f"{value!r} must not be negative")
    return ns


def _seconds(source, n, action, key, value, allow_zero=True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise _fail(source, n, action, key, f"{value!r} is not a number of seconds")
    if value < 0 or value > MAX_SECONDS or (not allow_zero and value == 0):
        low = "0" if allow_zero else "more than 0"
        raise _fail(source, n, action, key, f"{value!r} is out of range ({low} .. {MAX_SECONDS:g} seconds)")
    return float(value)


def _string(source, n, action, key, value) -> str:
    if not isinstance(value, str):
        raise _fail(source, n, action, key, f"expected a string, got {type(value).__name__}")
    return value


def _check_step(source, n, raw) -> dict:
    if not isinstance(raw, dict):
        raise _fail(source, n, None, None, f"expected a table/object with an 'action', got {type(raw).__name__}")
    action = raw.get("action")
    if action is None:
        raise _fail(source, n, None, "action", f"missing (one of {', '.join(ACTIONS)})")
    if action not in ACTIONS:
        raise _fail(source, n, None, "action",
                    f"unknown action {action!r}{_hint(action, ACTIONS)} (one of {', '.join(ACTIONS)})")
    required, optional = ACTIONS[action]
    for key in raw:
        if key != "action" and key not in required | optional:
            allowed = ", ".join(sorted(required | optional)) or "none"
            raise _fail(source, n, action, key, f"unknown key{_hint(key, required | optional)} (allowed: {allowed})")
    for key in sorted(required):
        if key not in raw:
            raise _fail(source, n, action, key, "missing")
    step = {"action": action}
    if action == "preset":
        step["name"] = _string(source, n, action, "name", raw["name"])
    elif action in ("set", "compare") and "keys" in raw:
        keys = raw["keys"]
        if not isinstance(keys, dict) or not keys:
            raise _fail(source, n, action, "keys", "expected a non-empty table of dotted.key = value")
        step["keys"] = _flatten(keys)
    if action == "compare" and "preset" in raw:
        step["preset"] = _string(source, n, action, "preset", raw["preset"])
    if action == "run":
        step["until"] = _duration(source, n, action, "until", raw["until"])
        if step["until"] <= 0:
            raise _fail(source, n, action, "until", "must be positive")
        step["seconds"] = _seconds(source, n, action, "seconds", raw.get("seconds", DEFAULT_RUN_SECONDS))
    elif action == "caption":
        step["title"] = _string(source, n, action, "title", raw["title"])
        step["body"] = _string(source, n, action, "body", raw.get("body", ""))
        step["seconds"] = _seconds(source, n, action, "seconds", raw.get("seconds", 0))
    elif action == "highlight":
        nodes = raw.get("nodes", [])
        if not isinstance(nodes, list) or not all(isinstance(x, str) for x in nodes):
            raise _fail(source, n, action, "nodes", "expected a list of symbol names")
        edges = raw.get("edges", [])
        if not isinstance(edges, list) or not all(isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e)
                                                  for e in edges):
            raise _fail(source, n, action, "edges", "expected a list of [from, to] pairs of symbol names")
        step["nodes"], step["edges"] = list(nodes), [list(e) for e in edges]
        if "model" in raw:
            step["model"] = _string(source, n, action, "model", raw["model"])
    elif action == "zoom":
        step["from"] = _duration(source, n, action, "from", raw["from"])
        step["to"] = _duration(source, n, action, "to", raw["to"])
        if step["to"] <= step["from"]:
            raise _fail(source, n, action, "to", f"must be after from ({raw['to']!r} <= {raw['from']!r})")
    elif action == "markers":
        markers = raw["markers"]
        if not isinstance(markers, list):
            raise _fail(source, n, action, "markers", "expected a list of {at, name}")
        out = []
        for i, m in enumerate(markers):
            key = f"markers[{i}]"
            if not isinstance(m, dict) or "at" not in m:
                raise _fail(source, n, action, key, "expected {at = duration, name = text}")
            bad = set(m) - {"at", "name", "note"}
            if bad:
                raise _fail(source, n, action, f"{key}.{sorted(bad)[0]}", "unknown key (allowed: at, name, note)")
            out.append({"time_ns": _duration(source, n, action, f"{key}.at", m["at"]),
                        "name": _string(source, n, action, f"{key}.name", m.get("name", f"M{i + 1}")),
                        "note": _string(source, n, action, f"{key}.note", m.get("note", ""))})
        step["markers"] = out
    elif action == "view":
        name = raw["name"]
        if name not in VIEWS:
            raise _fail(source, n, action, "name", f"{name!r} is not a view (one of {', '.join(VIEWS)})")
        step["name"] = name
    elif action == "pause":
        step["seconds"] = _seconds(source, n, action, "seconds", raw["seconds"], allow_zero=False)
    return step


def _hint(word, options) -> str:
    import difflib

    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flatten(table: dict, prefix: str = "") -> dict:
    # TOML turns `kernel.nohz = "idle"` into nested tables; keep dotted keys.
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _apply(sc: scen.Scenario, keys: dict, where: str) -> scen.Scenario:
    data = sc.model_dump(by_alias=True)
    for key, value in keys.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise InputError(f"{key}: {part!r} is not a section of the scenario")
            node = node[part]
        node[parts[-1]] = value
    return scen.from_dict(data, where)


def _check_flow(demo: Demo) -> None:
    """Walk the steps the way :func:`scenes` will, checking what depends on earlier steps."""
    sc, ran = None, False
    for n, step in enumerate(demo.steps, 1):
        action = step["action"]
        where = f"{demo.source}: step {n} ({action})"
        if action == "preset":
            try:
                sc = scen.preset(step["name"])
            except InputError as exc:
                raise DemoError(f"{where}: name: {exc}") from None
        elif action in ("set", "compare", "run", "highlight") and sc is None and not (action == "compare" and "preset" in step) \
                and not (action == "highlight" and "model" in step):
            raise DemoError(f"{where}: needs a scenario first (add a 'preset' step before it)")
        if action == "set":
            try:
                sc = _apply(sc, step["keys"], f"{where}: keys")
            except InputError as exc:
                msg = str(exc)
                raise DemoError(msg if msg.startswith(where) else f"{where}: keys: {msg}") from None
        elif action == "compare":
            try:
                b = scen.preset(step["preset"]) if "preset" in step else sc
                if "keys" in step:
                    _apply(b, step["keys"], f"{where}: keys")
            except InputError as exc:
                msg = str(exc)
                raise DemoError(msg if msg.startswith(where) else f"{where}: {msg}") from None
            if not ran:
                raise DemoError(f"{where}: needs a 'run' step before it (B runs to the same time as A)")
        elif action == "run":
            ran = True
        elif action == "highlight":
            model = step.get("model") or model_for_backend(sc.hypervisor.backend)
            _check_highlight(where, model, step)


def _check_highlight(where: str, model: str, step: dict) -> None:
    from tickscope.sim.graph.archmodel import list_models, load_model

    if model not in list_models():
        raise DemoError(f"{where}: model: no architecture model {model!r} (one of {', '.join(list_models())})")
    g = load_model(model)
    for name in step["nodes"]:
        if name not in g.g.nodes:
            raise DemoError(f"{where}: nodes: {name!r} is not a node of {model}{_hint(name, g.g.nodes)}")
    edges = {(s, t) for s, t, _ in g.edges()}
    for s, t in step["edges"]:
        if (s, t) not in edges:
            raise DemoError(f"{where}: edges: {s} -> {t} is not an edge of {model}")


# -- playing -------------------------------------------------------------------

def step_seconds(step: dict) -> float:
    """Playback time a step takes (run: the reveal; caption: its hold; pause: its seconds; others 0)."""
    return float(step.get("seconds", 0.0)) if step["action"] in ("run", "caption", "pause") else 0.0


def step_frames(step: dict, fps: int) -> int:
    return int(round(step_seconds(step) * fps))


def total_frames(demo: Demo, fps: int) -> int:
    """Frames of the demo's video at *fps*: the sum over steps, at least one."""
    return max(1, sum(step_frames(s, fps) for s in demo.steps))


def scenes(demo: Demo, simulate: Callable | None = None) -> Iterator[tuple[int, dict, Scene]]:
    """Play *demo* without Qt: yields ``(step number, step, scene after it)``.

    Parameters
    ----------
    simulate : callable, optional
        ``simulate(scenario, until_ns) -> Results``; default the engine.
        Identical (scenario, until) pairs are simulated once.
    """
    if simulate is None:
        from tickscope.sim.simulation import simulate as engine_simulate

        def simulate(sc, until):
            return engine_simulate(sc, until_ns=until)

    cache: dict = {}

    def run(sc, until):
        key = (sc.to_toml(), until)
        if key not in cache:
            cache[key] = simulate(sc, until)
        return cache[key]

    scene = Scene()
    for n, step in enumerate(demo.steps, 1):
        a = step["action"]
        scene = replace(scene, highlight=dict(scene.highlight), markers=list(scene.markers))
        if a == "preset":
            scene = replace(scene, scenario=scen.preset(step["name"]), results=None, compare=None, compare_results=None,
                            window=None)
        elif a == "set":
            scene = replace(scene, scenario=_apply(scene.scenario, step["keys"], f"step {n}"), results=None,
                            compare=None, compare_results=None)
        elif a == "run":
            scene = replace(scene, until_ns=step["until"], results=run(scene.scenario, step["until"]), window=None,
                            view="raster" if scene.view == "graph" else scene.view)
        elif a == "caption":
            scene = replace(scene, caption=(step["title"], step["body"]))
        elif a == "highlight":
            model = step.get("model") or (model_for_backend(scene.scenario.hypervisor.backend) if scene.scenario else None)
            scene = replace(scene, highlight={"nodes": step["nodes"], "edges": step["edges"]}, model=model, view="graph")
        elif a == "zoom":
            scene = replace(scene, window=(step["from"], step["to"]), view="raster")
        elif a == "markers":
            scene = replace(scene, markers=[dict(m) for m in step["markers"]])
        elif a == "compare":
            b = scen.preset(step["preset"]) if "preset" in step else scene.scenario
            if "keys" in step:
                b = _apply(b, step["keys"], f"step {n}")
            scene = replace(scene, compare=b, compare_results=run(b, scene.until_ns), view="raster")
        elif a == "view":
            scene = replace(scene, view=step["name"])
        yield n, step, scene


# -- writing (the app records sessions as demos) --------------------------------

def _toml_value(step: dict) -> dict:
    out = {}
    for k, v in step.items():
        if k in ("until", "from", "to"):
            out[k] = scen.format_duration(v)
        elif k == "markers":
            out[k] = [{"at": scen.format_duration(m["time_ns"]), "name": m["name"],
                       **({"note": m["note"]} if m.get("note") else {})} for m in v]
        else:
            out[k] = v
    return out


def dumps(demo: Demo) -> str:
    """The demo as TOML (``[[step]]`` tables) that :func:`loads` reads back to the same steps."""
    import tomli_w

    return tomli_w.dumps({"title": demo.title, "description": demo.description,
                          "step": [_toml_value(s) for s in demo.steps]})


def save(demo: Demo, path) -> Path:
    """Write :func:`dumps` to *path* atomically; returns *path*."""
    from tickscope.sim.atomic import write_text

    write_text(path, dumps(demo))
    return Path(path)
