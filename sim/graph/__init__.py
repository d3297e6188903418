"""The architecture graph: who calls whom in timer code, and whether they should.

A graph is built from a shipped architecture model (:mod:`.archmodel`), a C
source tree (:mod:`.cimport`) or a Python package (:mod:`.pyimport`).  Rules
from the 2007 clockevents debate (:mod:`.rules`) turn its edges into
violations; :mod:`.metrics` summarises each backend and :mod:`.export` writes
JSON, DOT, GraphML and SVG.
"""
from tickscope.sim.graph.model import (
    COMPONENT_KINDS,
    EDGE_CLASSES,
    ArchGraph,
    Evidence,
    Violation,
    classify_reference,
)

__all__ = [
    "COMPONENT_KINDS",
    "EDGE_CLASSES",
    "ArchGraph",
    "Evidence",
    "Violation",
    "classify_reference",
]
