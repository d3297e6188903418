import sys

from tickscope.sim.cli import main

sys.exit(main())
