"""``tickscope presets``: list the shipped scenarios, one line each."""
from tickscope.sim import scenario as scen


def register(sub):
    p = sub.add_parser("presets", help="list the shipped scenario presets")
    p.set_defaults(func=_run)


def _run(args):
    items = scen.presets()
    width = max(len(n) for n in items)
    for name, sc in items.items():
        mark = "*" if name == scen.DEFAULT_PRESET else " "
        print(f"{name:<{width}} {mark} {sc.description}")
    return 0
