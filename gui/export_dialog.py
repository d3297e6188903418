"""Exports of a run: the request, the job that writes it, and File > Export… in the app.

:func:`run_export` is shared by ``tickscope export`` and the dialog.  All
outputs of one request are staged (temporary files and folders beside their
targets) and renamed into place only when every one of them is complete; a
cancel (progress callback returns False), Ctrl-C or an error removes every
staged file, so nothing partial is ever left.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from tickscope.gui import plot_export as pe
from tickscope.sim.atomic import atomic_path, make_folder
from tickscope.sim.errors import InputError
from tickscope.sim.units import format_ns
from tickscope.sim.export import ExportCancelled

VIDEO_SECONDS = 4.0
VIDEO_FPS = 15


@dataclass
class ExportRequest:
    """What to write.  Paths left None are skipped.

    Attributes
    ----------
    png, svg, pdf : path, optional
        The figure of *view* (PDF: one page per view for ``all``).
    csv_dir : path, optional
        CSVs of the data behind the plots (see :func:`plot_export.write_plot_csvs`).
    trace : path, optional
        Chrome/Perfetto JSON trace.
    bundle : path, optional
        Review bundle: a new folder, or a ``.zip``.
    video : path, optional
        ``.mp4`` / ``.gif`` of the view revealed over the run.
    """

    png: str | None = None
    svg: str | None = None
    pdf: str | None = None
    csv_dir: str | None = None
    trace: str | None = None
    bundle: str | None = None
    video: str | None = None
    view: str = "all"
    options: pe.PlotOptions = field(default_factory=pe.PlotOptions)
    fps: int = VIDEO_FPS
    video_seconds: float = VIDEO_SECONDS

    def outputs(self) -> list[str]:
        return [getattr(self, k) for k in ("png", "svg", "pdf", "csv_dir", "trace", "bundle", "video") if getattr(self, k)]


def validate(req: ExportRequest) -> None:
    """Check a request before any work; InputError names the option at fault."""
    if not req.outputs():
        raise InputError("nothing to export: give at least one of --png, --svg, --pdf, --csv, --trace, --bundle, --video")
    if req.view not in pe.VIEW_CHOICES:
        raise InputError(f"--view: {req.view!r} is not a view (use {', '.join(pe.VIEW_CHOICES)})")
    for flag, value, suffix in (("--png", req.png, ".png"), ("--svg", req.svg, ".svg"), ("--pdf", req.pdf, ".pdf"),
                                ("--trace", req.trace, ".json")):
        if value and Path(value).suffix.lower() != suffix:
            raise InputError(f"{flag}: {value!r} must end in {suffix}")
        if value and Path(value).is_dir():
            raise InputError(f"{flag}: {value!r} is a folder")
    if req.csv_dir and Path(req.csv_dir).exists() and not Path(req.csv_dir).is_dir():
        raise InputError(f"--csv: {req.csv_dir!r} exists and is not a folder")
    if req.bundle:
        b = Path(req.bundle)
        if b.suffix.lower() != ".zip" and b.exists() and (not b.is_dir() or any(b.iterdir())):
            raise InputError(f"--bundle: {req.bundle!r} exists and is not an empty folder (choose a new name or a .zip)")
        if b.suffix.lower() == ".zip" and b.is_dir():
            raise InputError(f"--bundle: {req.bundle!r} is a folder")
    if req.video:
        from tickscope.gui import video

        video.check_video_path(req.video)
        video.check_fps(req.fps)
    pe.check_dpi(req.options.dpi)


class _Staging:
    """Temporary files and folders beside their targets, renamed into place together on commit."""

    def __init__(self):
        self._files = contextlib.ExitStack()
        self._dirs: list[tuple[Path, Path, bool]] = []

    def file(self, target) -> Path:
        return self._files.enter_context(atomic_path(target))

    def directory(self, target, merge: bool) -> Path:
        target = Path(target)
        make_folder(target.parent, target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
        self._dirs.append((tmp, target, merge))
        return tmp

    def scratch(self, near) -> Path:
        """A folder removed at the end either way."""
        near = Path(near)
        make_folder(near.parent, near)
        tmp = Path(tempfile.mkdtemp(prefix=f".{near.name}.", suffix=".part", dir=near.parent))
        self._dirs.append((tmp, None, False))
        return tmp

    def commit(self) -> None:
        """Move everything into place; InputError (everything staged removed, nothing moved) when a file of a
        merged folder would land on a name a directory, device or pipe holds: found while moving, it left the
        staged folder behind beside the target, half of the request committed."""
        for tmp, target, merge in self._dirs:
            if target is None or not merge:
                continue
            for f in sorted(tmp.iterdir()):
                if (target / f.name).exists() and not (target / f.name).is_file():
                    exc = InputError(f"{target}: {target / f.name} exists and is not a regular file (a directory, "
                                     f"device or pipe); the export writes {f.name} there")
                    self.abort(exc)
                    raise exc
        for tmp, target, merge in self._dirs:
            if target is None:
                shutil.rmtree(tmp, ignore_errors=True)
            elif merge:
                target.mkdir(parents=True, exist_ok=True)
                for f in sorted(tmp.iterdir()):
                    os.replace(f, target / f.name)
                tmp.rmdir()
            else:
                if target.is_dir():
                    target.rmdir()  # validated empty
                os.rename(tmp, target)
        self._dirs.clear()
        self._files.close()

    def abort(self, exc) -> None:
        for tmp, _target, _merge in self._dirs:
            shutil.rmtree(tmp, ignore_errors=True)
        self._dirs.clear()
        self._files.__exit__(type(exc), exc, exc.__traceback__)


def _view_list(view: str) -> list[str]:
    return list(pe.VIEWS) if view == "all" else [view]


def _work_units(req: ExportRequest) -> int:
    n = sum(1 for k in ("png", "svg", "pdf", "csv_dir", "trace") if getattr(req, k))
    if req.bundle:
        n += 2 * len(pe.VIEWS) + 3
    if req.video:
        n += video_frame_count(req)
    return max(1, n)


def video_frame_count(req: ExportRequest) -> int:
    return max(1, int(round(req.fps * req.video_seconds)))


def video_size(opts: pe.PlotOptions) -> tuple[int, int]:
    """Pixel size of video frames: the figure at 96 DPI, rounded down to even numbers."""
    w = int(opts.width_pt * pe.REFERENCE_DPI / 72) // 2 * 2
    h = int(opts.height_pt * pe.REFERENCE_DPI / 72) // 2 * 2
    return w, h


def _video_frames(src: pe.PlotSource, req: ExportRequest, size):
    from dataclasses import replace

    view = "raster" if req.view == "all" else req.view
    n = video_frame_count(req)
    w, h = size
    opts = replace(req.options, dpi=pe.REFERENCE_DPI, width_pt=w * 72 / pe.REFERENCE_DPI,
                   height_pt=h * 72 / pe.REFERENCE_DPI)
    end = src.end_ns
    for k in range(n):
        reveal = end if n == 1 else end * (k + 1) // n
        yield pe.render_image(src, view, replace(opts, reveal_ns=reveal if view in ("raster", "drift") else None))


def run_export(src: pe.PlotSource, req: ExportRequest, progress=None) -> list[Path]:
    """Write everything *req* asks for; returns the paths written.

    Raises
    ------
    InputError
        Bad request (see :func:`validate`).
    ExportCancelled
        *progress* returned False; nothing was written.
    """
    validate(req)
    total = _work_units(req)
    done = 0

    def step(units=1):
        nonlocal done
        done += units
        pe.check_cancel(progress, done, total)

    pe.check_cancel(progress, 0, total)
    stage = _Staging()
    written = []
    opts = req.options
    try:
        if req.png:
            pe.write_png(src, req.view, stage.file(req.png), opts)
            written.append(Path(req.png))
            step()
        if req.svg:
            pe.write_svg(src, req.view, stage.file(req.svg), opts)
            written.append(Path(req.svg))
            step()
        if req.pdf:
            pe.write_pdf(src, req.view, stage.file(req.pdf), opts)
            written.append(Path(req.pdf))
            step()
        if req.csv_dir:
            pe.write_plot_csvs(src, stage.directory(req.csv_dir, merge=True), _view_list(req.view), opts)
            written.append(Path(req.csv_dir))
            step()
        if req.trace:
            from tickscope.sim.export.trace import write_trace

            write_trace(src.results, stage.file(req.trace))
            written.append(Path(req.trace))
            step()
        if req.bundle:
            _write_bundle(src, req, stage, step)
            written.append(Path(req.bundle))
        if req.video:
            from tickscope.gui import video

            size = video_size(opts)
            video.write_video(stage.file(req.video), _video_frames(src, req, size), size, req.fps,
                              video_frame_count(req), progress=lambda _d, _t: step(),
                              fmt=video.check_video_path(req.video))
            written.append(Path(req.video))
    except BaseException as exc:
        stage.abort(exc)
        raise
    stage.commit()
    return written


def _write_bundle(src: pe.PlotSource, req: ExportRequest, stage: _Staging, step) -> None:
    """Every plot as SVG and PNG, all views in one PDF, the CSVs, the scenario and summary.md."""
    from tickscope.sim.export.summary import write_summary_markdown

    target = Path(req.bundle)
    is_zip = target.suffix.lower() == ".zip"
    root = stage.scratch(target) if is_zip else stage.directory(target, merge=False)
    for view in pe.VIEWS:
        pe.write_svg(src, view, root / f"{view}.svg", req.options)
        step()
        pe.write_png(src, view, root / f"{view}.png", req.options)
        step()
    pe.write_pdf(src, "all", root / "figures.pdf", req.options)
    pe.write_plot_csvs(src, root / "csv", list(pe.VIEWS), req.options)
    step()
    from tickscope.sim.atomic import write_text

    write_text(root / "scenario.toml", src.scenario_toml or "")
    write_summary_markdown(src.summary, root / "summary.md")
    step()
    if is_zip:
        with zipfile.ZipFile(stage.file(target), "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(root.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(root).as_posix())
    step()


# -- the dialog ---------------------------------------------------------------------

class ExportDialog(QtWidgets.QDialog):
    """File > Export…: formats, view, size or page, DPI; runs with a cancellable progress dialog."""

    FORMATS = (("png", "PNG image", ".png"), ("svg", "SVG (vector)", ".svg"), ("pdf", "PDF (vector)", ".pdf"),
               ("csv_dir", "CSV data (folder)", ""), ("trace", "Perfetto trace", ".json"),
               ("bundle", "Review bundle (.zip)", ".zip"), ("video", "Video (.mp4)", ".mp4"))

    def __init__(self, window, parent=None):
        super().__init__(parent or window)
        self.window = window
        self.setWindowTitle("Export")
        form = QtWidgets.QFormLayout(self)
        self.base = QtWidgets.QLineEdit(str(Path.home() / "tickscope-export"))
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.base)
        row.addWidget(browse)
        form.addRow("File name (no suffix)", row)
        self.checks = {}
        box = QtWidgets.QVBoxLayout()
        for key, label, _suffix in self.FORMATS:
            cb = QtWidgets.QCheckBox(label)
            cb.setChecked(key in ("png", "svg", "pdf"))
            self.checks[key] = cb
            box.addWidget(cb)
        form.addRow("Formats", box)
        self.view = QtWidgets.QComboBox()
        self.view.addItems(list(pe.VIEW_CHOICES))
        form.addRow("View", self.view)
        self.page = QtWidgets.QComboBox()
        self.page.addItems(["size (pixels)"] + list(pe.PAGES))
        self.size = QtWidgets.QLineEdit(f"{pe.DEFAULT_SIZE_PX[0]}x{pe.DEFAULT_SIZE_PX[1]}")
        self.page.currentIndexChanged.connect(lambda i: self.size.setEnabled(i == 0))
        form.addRow("Page", self.page)
        form.addRow("Size (WxH)", self.size)
        self.dpi = QtWidgets.QSpinBox()
        self.dpi.setRange(pe.MIN_DPI, pe.MAX_DPI)
        self.dpi.setValue(pe.REFERENCE_DPI)
        form.addRow("PNG DPI", self.dpi)
        # the raster's time range: what the user zoomed into, by default (the whole run was always exported)
        self.span = QtWidgets.QComboBox()
        self.span.addItem("whole run", None)
        shown = visible_range(window)
        if shown is not None:
            self.span.addItem(f"as shown: {format_ns(shown[0])} to {format_ns(shown[1])}", shown)
            self.span.setCurrentIndex(1)
        form.addRow("Raster time range", self.span)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._export)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export to", self.base.text())
        if path:
            self.base.setText(str(Path(path).with_suffix("")))

    def request(self) -> ExportRequest:
        """The request the dialog's fields describe (InputError for bad fields)."""
        base = self.base.text().strip()
        if not base:
            raise InputError("choose a file name to export to")
        if self.page.currentIndex() == 0:
            w, h = pe.parse_size(self.size.text(), "Size (WxH)")
        else:
            w, h = pe.page_size(self.page.currentText())
        opts = plot_options_for(self.window, w, h, self.dpi.value(), self.span.currentData())
        req = ExportRequest(view=self.view.currentText(), options=opts)
        for key, _label, suffix in self.FORMATS:
            if self.checks[key].isChecked():
                setattr(req, key, base + suffix if suffix else base + "-csv")
        return req

    def _export(self):
        try:
            req = self.request()
            if not self._may_replace(req):
                return
            written = export_with_progress(self.window, req, self)
        except InputError as exc:
            self.window.show_error(str(exc))
            return
        if written is not None:
            self.accept()

    def _may_replace(self, req: ExportRequest) -> bool:
        """Files the export would replace: ask first (Yes / No); True to go ahead."""
        existing = [Path(p) for p in (getattr(req, key) for key, _label, _suffix in self.FORMATS) if p and Path(p).exists()]
        if not existing:
            return True
        names = ", ".join(p.name for p in existing[:4]) + (f" and {len(existing) - 4} more" if len(existing) > 4 else "")
        answer = QtWidgets.QMessageBox.question(self, "Export", f"Replace {names} in {existing[0].parent}?",
                                                QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No,
                                                QtWidgets.QMessageBox.No)
        return answer == QtWidgets.QMessageBox.Yes


def plot_options_for(window, width_pt, height_pt, dpi, raster_window=None) -> pe.PlotOptions:
    """Options carrying the window's markers, *raster_window* ``(t0_ns, t1_ns)`` (None: the whole run) and, in
    compare mode, run B (its raster drawn under run A's, as the Compare A/B tab shows them)."""
    markers = window.measure.markers() if getattr(window, "measure", None) is not None else []
    sc = window.model.scenario()
    caption = pe.Caption(f"tickscope: {sc.name}", sc.description)
    opts = pe.PlotOptions(width_pt=width_pt, height_pt=height_pt, dpi=dpi, markers=markers, caption=caption,
                          window=raster_window)
    opts.compare = _run_b_source(window)
    return opts


def _run_labels(window) -> tuple[str, str] | None:
    """Compare mode: the names the Compare A/B tab gives runs A and B; None otherwise."""
    view = getattr(window, "compare_view", None)
    if getattr(window, "compare_controller", None) is None or view is None:
        return None
    return view.run_labels()


def _run_b_source(window) -> pe.PlotSource | None:
    """Compare mode: run B's results to draw beside A's (the export drew run A alone, named as if the only run)."""
    ctl = getattr(window, "compare_controller", None)
    snap = ctl.last_snapshot if ctl is not None else None
    res = snap["results"] if snap else None
    if res is None or len(res) == 0 or int(res.meta.get("now_ns") or 0) <= 0:
        return None
    return pe.PlotSource(res, name=_run_labels(window)[1], scenario_toml=res.meta.get("scenario"))


def visible_range(window) -> tuple[int, int] | None:
    """The raster's visible time range within the run, or None when it shows (nearly) the whole run."""
    res = window.results
    if res is None or len(res) == 0:
        return None
    end = int(res.meta.get("until_ns") or 0)
    t0, t1 = window.raster.view_range()
    t0, t1 = max(0, int(t0)), min(end, int(t1))
    if end <= 0 or t1 <= t0 or t1 - t0 >= 0.98 * end:
        return None
    return t0, t1


def source_for(window) -> pe.PlotSource:
    res = window.results
    if res is None or len(res) == 0 or int(res.meta.get("now_ns") or 0) <= 0:   # not run: the boot's lines alone
        raise InputError("nothing to export yet: run the scenario or open a recording first")
    labels = _run_labels(window)
    return pe.PlotSource(res, name=labels[0] if labels else None,
                         scenario_toml=res.meta.get("scenario") or window.model.scenario().to_toml())


def export_with_progress(window, req: ExportRequest, parent=None):
    """Run *req* for the window's results under a QProgressDialog; None if cancelled."""
    src = source_for(window)
    dlg = QtWidgets.QProgressDialog("Exporting…", "Cancel", 0, 100, parent or window)
    dlg.setWindowModality(QtCore.Qt.WindowModal)
    dlg.setMinimumDuration(300)

    def progress(done, total):
        dlg.setMaximum(max(1, total))
        dlg.setValue(min(done, total))
        QtWidgets.QApplication.processEvents()
        return not dlg.wasCanceled()

    try:
        written = run_export(src, req, progress)
    except ExportCancelled:
        window.statusBar().showMessage("Export cancelled; nothing was written", 5000) if hasattr(window, "statusBar") else None
        return None
    except OSError as exc:
        window.show_error(f"export failed: {exc}")
        return None
    finally:
        dlg.reset()
    return written


def install(window) -> None:
    """File > Export… (Ctrl+Shift+E)."""
    def open_dialog(*_):
        ExportDialog(window).exec()

    window.add_action("export", "&Export plots and data…", "Ctrl+Shift+E", open_dialog, menu="&File")
