"""Scripted demos in the app (Demo menu) and rendered headless to video.

The steps are played by :func:`tickscope.sim.demo.scenes` (Qt-free); this
module shows each scene: in the app through the window's public API (scenario,
stored results, raster window, markers) plus a caption overlay and a "Demo
view" panel for graph, compare and histogram pictures; in a video as frames
drawn by :mod:`tickscope.gui.plot_export`, so a demo looks the same as the
exported figures.  :class:`SessionRecorder` turns what the user does in the
window into a demo script.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from PySide6 import QtCore, QtGui, QtWidgets

from tickscope.gui import plot_export as pe
from tickscope.sim import demo as demo_mod
from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError
from tickscope.sim.results import Results

MIN_STEP_MS = 150
"""In the app every step stays visible at least this long."""
MAX_RECORDED_PAUSE_S = 5.0


# -- scenes as figures ---------------------------------------------------------------

def scene_figure(scene: demo_mod.Scene, width_pt: float, height_pt: float, dpi: int = pe.REFERENCE_DPI):
    """``(source, view, options)`` that draw *scene* (source None = a caption card)."""
    caption = pe.Caption(*scene.caption) if scene.caption else None
    opts = pe.PlotOptions(width_pt=width_pt, height_pt=height_pt, dpi=dpi, markers=list(scene.markers),
                          caption=caption, window=scene.window, highlight=dict(scene.highlight))
    src = None
    if scene.results is not None:
        src = pe.PlotSource(scene.results, scenario_toml=scene.scenario.to_toml() if scene.scenario else None)
    elif scene.scenario is not None and scene.view == "graph":
        meta = {"backend": scene.scenario.hypervisor.backend, "scenario_name": scene.scenario.name}
        src = pe.PlotSource(Results.empty(meta), scenario_toml=scene.scenario.to_toml())
    elif scene.view == "graph" and scene.model:
        src = pe.PlotSource(Results.empty({"scenario_name": scene.model}), name=scene.model)
    view = scene.view
    if src is None or (scene.results is None and view != "graph"):
        return None, pe.CAPTION_ONLY, opts
    if scene.model:
        src.model_override = scene.model
    if scene.compare_results is not None and view == "raster":
        opts.compare = pe.PlotSource(scene.compare_results, scenario_toml=scene.compare.to_toml())
    return src, view, opts


def scene_image(scene, size_px: tuple[int, int], reveal_ns: int | None = None) -> QtGui.QImage:
    w, h = size_px
    src, view, opts = scene_figure(scene, w * 72 / pe.REFERENCE_DPI, h * 72 / pe.REFERENCE_DPI)
    opts.reveal_ns = reveal_ns
    img = pe.render_image(src, view, opts)
    if img.width() != w or img.height() != h:
        img = img.scaled(w, h)
    return img


def demo_frames(demo: demo_mod.Demo, fps: int, size_px: tuple[int, int]):
    """Every video frame of *demo*: :func:`tickscope.sim.demo.total_frames` of them."""
    last = None
    emitted = 0
    for _n, step, scene in demo_mod.scenes(demo):
        last = scene
        frames = demo_mod.step_frames(step, fps)
        if frames == 0:
            continue
        if step["action"] == "run" and scene.results is not None:
            end = int(scene.until_ns or 1)
            for k in range(frames):
                yield scene_image(replace(scene, view="raster"), size_px, end * (k + 1) // frames)
        else:
            img = scene_image(scene, size_px)
            for _ in range(frames):
                yield img
        emitted += frames
    if emitted == 0:
        yield scene_image(last, size_px)


def render_demo_video(demo: demo_mod.Demo, path, fps: int, size_px: tuple[int, int], progress=None) -> int:
    """Render *demo* to an .mp4/.gif; returns the number of frames written."""
    from tickscope.gui import video

    video.check_video_path(path)
    video.check_fps(fps)
    total = demo_mod.total_frames(demo, fps)
    return video.write_video(path, demo_frames(demo, fps, size_px), size_px, fps, total, progress)


# -- playing in the app --------------------------------------------------------------

class CaptionOverlay(QtWidgets.QLabel):
    """A caption box floating over the bottom of the window."""

    def __init__(self, parent):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAttribute(QtCore.Qt.WA_TransparentForMouseEvents)
        self.setStyleSheet("QLabel { background: rgba(20, 20, 30, 215); color: white; padding: 10px 14px;"
                           " border-radius: 6px; font-size: 14px; }")
        self.hide()
        parent.installEventFilter(self)

    def show_caption(self, title: str, body: str) -> None:
        esc = QtGui.QTextDocumentFragment.fromPlainText
        self.setText(f"<b style='font-size:16px'>{esc(title).toHtml()}</b><br>{esc(body).toHtml()}" if body
                     else f"<b style='font-size:16px'>{esc(title).toHtml()}</b>")
        self._place()
        self.show()
        self.raise_()

    def _place(self):
        p = self.parentWidget()
        w = min(900, p.width() - 40)
        self.setFixedWidth(max(200, w))
        self.adjustSize()
        self.move((p.width() - self.width()) // 2, p.height() - self.height() - 60)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QtCore.QEvent.Resize and self.isVisible():
            self._place()
        return False


class DemoPlayer(QtCore.QObject):
    """Plays a demo in a window: play / pause / step / stop.

    Signals
    -------
    step_shown(int, str)
        Step number (1-based) and action, after the step is shown.
    finished()
        The last step was shown.
    """

    step_shown = QtCore.Signal(int, str)
    finished = QtCore.Signal()

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.demo = None
        self._scenes = None
        self.scene = None
        self.playing = False
        self.step_index = 0
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._advance)
        self.overlay = CaptionOverlay(window)
        self.view_label = QtWidgets.QLabel("No demo picture yet")
        self.view_label.setAlignment(QtCore.Qt.AlignCenter)
        self.view_label.setMinimumSize(200, 120)
        self._panel = None

    def load(self, demo: demo_mod.Demo) -> None:
        self.stop()
        self.demo = demo
        self._scenes = demo_mod.scenes(demo)
        self.step_index = 0

    def play(self, demo: demo_mod.Demo | None = None) -> None:
        if demo is not None:
            self.load(demo)
        if self.demo is None:
            return
        self.playing = True
        self._timer.start(0)

    def pause(self) -> None:
        self.playing = False
        self._timer.stop()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def step(self) -> bool:
        """Show the next step now (while paused); False when the demo is over."""
        self.pause()
        return self._show_next()

    def stop(self) -> None:
        self.pause()
        self._scenes = None
        self.overlay.hide()

    def _advance(self):
        if not self.playing:
            return
        if self._show_next():
            step = self.demo.steps[self.step_index - 1]
            self._timer.start(max(MIN_STEP_MS, int(demo_mod.step_seconds(step) * 1000)))
        else:
            self.playing = False

    def _show_next(self) -> bool:
        if self._scenes is None:
            return False
        try:
            n, step, scene = next(self._scenes)
        except StopIteration:
            self._scenes = None
            self.finished.emit()
            return False
        except InputError as exc:
            self._scenes = None
            self.window.show_error(str(exc))
            return False
        self._show(scene, self.scene)
        self.scene = scene
        self.step_index = n
        self.step_shown.emit(n, step["action"])
        return True

    def _show(self, scene: demo_mod.Scene, before) -> None:
        w = self.window
        if scene.results is not None and (before is None or before.results is not scene.results):
            w.show_recording(SimpleNamespace(scenario=scene.scenario, results=scene.results, actions=[]))
        elif scene.scenario is not None and (before is None or before.scenario is not scene.scenario):
            w.model.set_scenario(scene.scenario, scene.scenario.to_toml())
        if scene.window and (before is None or before.window != scene.window):
            w.raster.set_view_range(*scene.window)
        if before is None or before.markers != scene.markers:
            w.measure.set_markers([dict(m) for m in scene.markers])
        if scene.caption:
            self.overlay.show_caption(*scene.caption)
        if scene.view != "raster" or scene.compare_results is not None:
            self._show_picture(scene)

    def _show_picture(self, scene) -> None:
        if self._panel is None:
            self._panel = self.window.add_panel("Demo view", self.view_label, "right")
        self._panel.show()
        self._panel.raise_()
        size = self.view_label.size()
        w, h = max(640, size.width()), max(400, size.height())
        img = scene_image(replace(scene, caption=None), (w, h))
        self.view_label.setPixmap(QtGui.QPixmap.fromImage(img).scaled(
            self.view_label.size(), QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation))


# -- recording the user's session as a demo -------------------------------------------

def _flatten(d: dict, prefix="") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "imported":
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def scenario_diff(a: scen.Scenario, b: scen.Scenario) -> dict:
    """Dotted keys whose values differ from *a* to *b* (name and description ignored)."""
    fa, fb = _flatten(a.model_dump(by_alias=True)), _flatten(b.model_dump(by_alias=True))
    return {k: v for k, v in fb.items() if fa.get(k) != v and k not in ("name", "description", "schema", "imported")}


class SessionRecorder(QtCore.QObject):
    """Records scenario edits, finished runs, zooms and markers as demo steps."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.recording = False
        self.steps: list[dict] = []
        self._last_t = 0.0
        self._scenario = None

    def start(self) -> None:
        self.steps = []
        sc = self.window.model.scenario()
        presets = scen.presets()
        base_name = sc.name if sc.name in presets else scen.DEFAULT_PRESET
        self.steps.append({"action": "preset", "name": base_name})
        diff = scenario_diff(presets[base_name], sc)
        if diff:
            self.steps.append({"action": "set", "keys": diff})
        self._scenario = sc
        self._last_t = time.monotonic()
        self.recording = True
        self.window.model.scenario_changed.connect(self._on_scenario)
        self.window.results_changed.connect(self._on_results)
        self.window.raster.range_changed.connect(self._on_range)

    def stop(self) -> demo_mod.Demo:
        if self.recording:
            for sig, slot in ((self.window.model.scenario_changed, self._on_scenario),
                              (self.window.results_changed, self._on_results),
                              (self.window.raster.range_changed, self._on_range)):
                try:
                    sig.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self.recording = False
        markers = self.window.measure.markers()
        if markers:
            self._add({"action": "markers", "markers": markers})
        return self.demo()

    def demo(self) -> demo_mod.Demo:
        """The recorded steps as a validated demo."""
        d = demo_mod.Demo(title="recorded session", description="Recorded in the tickscope app", steps=list(self.steps))
        return demo_mod.loads(demo_mod.dumps(d), "recorded session")

    def _pause_before(self) -> None:
        now = time.monotonic()
        gap = round(min(MAX_RECORDED_PAUSE_S, now - self._last_t), 1)
        self._last_t = now
        if gap >= 0.5 and len(self.steps) > 1:
            self.steps.append({"action": "pause", "seconds": gap})

    def _add(self, step: dict) -> None:
        self._pause_before()
        self.steps.append(step)

    def _on_scenario(self, sc) -> None:
        diff = scenario_diff(self._scenario, sc) if self._scenario is not None else {}
        self._scenario = sc
        if diff:
            self._add({"action": "set", "keys": diff})

    def _on_results(self, results, _summary) -> None:
        if results is None or not len(results):
            return
        meta = results.meta
        until = int(meta.get("until_ns") or 0)
        # only a run that ended (its end settled): a live snapshot's until_ns is the slice it reached, and
        # each one was recorded as a run to there ("run until 4ms" before the real run)
        if until <= 0 or meta.get("settled_ns") is None:
            return
        if self.steps and self.steps[-1] == {"action": "run", "until": until, "seconds": 1.0}:
            return
        self._add({"action": "run", "until": until, "seconds": 1.0})

    def _on_range(self, t0, t1) -> None:
        if self.window.raster.following():
            return  # the view fitting itself to a new or growing run ("zoom 0ns to 100ns" at each edit)
        t0, t1 = max(0, int(t0)), int(t1)
        if t1 <= t0:
            return
        step = {"action": "zoom", "from": t0, "to": t1}
        if self.steps and self.steps[-1]["action"] == "zoom":
            self.steps[-1] = step  # a drag emits many ranges: keep the last
        else:
            self._add(step)


# -- the Demo menu ---------------------------------------------------------------------

def install(window) -> None:
    """Demo menu: play a built-in or file demo, play/pause, step, stop, record and save a session."""
    player = DemoPlayer(window)
    recorder = SessionRecorder(window)
    window.demo_player = player
    window.demo_recorder = recorder

    def open_demo(name_or_path):
        try:
            player.play(demo_mod.load(name_or_path))
        except InputError as exc:
            window.show_error(str(exc))

    for i, name in enumerate(list(demo_mod.builtin_demos())[:9], 1):
        window.add_action(f"demo_{name}", f"Play demo: {name}", f"Ctrl+D, {i}", lambda _=False, n=name: open_demo(n),
                          menu="&Demo")

    def open_file():
        path, _ = QtWidgets.QFileDialog.getOpenFileName(window, "Open demo script", "", "Demo scripts (*.toml *.jsonl)")
        if path:
            open_demo(path)

    def toggle_record(on):
        if on:
            recorder.start()
            return
        d = recorder.stop()
        path, _ = QtWidgets.QFileDialog.getSaveFileName(window, "Save recorded demo", "session-demo.toml",
                                                        "Demo scripts (*.toml)")
        if path:
            try:
                demo_mod.save(d, path)
            except OSError as exc:
                window.show_error(f"{path}: {exc}")

    window.add_action("demo_open", "Open demo script…", "Ctrl+D, O", lambda *_: open_file(), menu="&Demo")
    window.add_action("demo_play", "Play / pause demo", "Ctrl+Shift+Space", lambda *_: player.toggle(), menu="&Demo")
    window.add_action("demo_step", "Next demo step", "Ctrl+Shift+N", lambda *_: player.step(), menu="&Demo")
    window.add_action("demo_stop", "Stop demo", "Ctrl+D, S", lambda *_: player.stop(), menu="&Demo")
    window.add_action("demo_record", "Record my actions as a demo", "Ctrl+D, R", toggle_record, menu="&Demo", checkable=True)


def save_recorded(recorder: SessionRecorder, path) -> Path:
    """Stop *recorder* and save its demo to *path* (used by tests and the menu)."""
    return demo_mod.save(recorder.stop(), path)
