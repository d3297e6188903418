"""tickscope.sim — the Qt-free simulation API.

Scenarios, the simulation driver, analysis, kernel math (``kclock``),
importers, the architecture graph, recordings and the command line.
"""
__version__ = "0.1.0"
