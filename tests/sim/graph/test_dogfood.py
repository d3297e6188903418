"""tickscope's own imports must keep gui -> sim -> ext, with no violation."""
from pathlib import Path

from tickscope.sim.graph import rules
from tickscope.sim.graph.pyimport import import_python
from tickscope.sim.graph.rules import component_dependencies

REPO = Path(__file__).resolve().parents[3]
ALLOWED = {("tickscope.gui", "tickscope.sim"), ("tickscope.sim", "tickscope.ext"), ("tickscope.gui", "tickscope.assets"),
           ("tickscope.sim", "tickscope.assets")}


def test_tickscope_imports_only_go_down_with_zero_violations():
    g = import_python(REPO)
    assert rules.check(g) == []
    deps = set(component_dependencies(g).edges())
    assert ("tickscope.gui", "tickscope.sim") in deps
    assert deps <= ALLOWED, deps - ALLOWED


def test_forbidden_import_is_a_layering_violation(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[[tool.importlinter.contracts]]\nname = "core stays Qt-free"\n'
        'type = "forbidden"\nsource_modules = ["demo.core"]\nforbidden_modules = ["demo.ui", "PySide6"]\n')
    for pkg in ("core", "ui"):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "core" / "model.py").write_text("import os\nfrom demo.ui import view\nimport PySide6.QtCore\n")
    (tmp_path / "ui" / "view.py").write_text("from ..core import model\n")
    g = import_python(tmp_path)
    found = [(v.rule, v.file, v.line, v.symbol) for v in rules.check(g)]
    assert found == [("layering", "core/model.py", 2, "demo.ui.view"), ("layering", "core/model.py", 3, "PySide6"),
                     ("cycles", "core/model.py", 2, "demo.core -> demo.ui -> demo.core")]
    assert [v.symbol for v in g.violations if v.rule == "cycles"] == ["demo.core -> demo.ui -> demo.core"]
