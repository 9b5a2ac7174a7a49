"""``python -m simulator.gui [SCENARIO]``: the same as ``rhizosim gui``."""

import sys

from simulator.cli import main

sys.exit(main(["gui", *sys.argv[1:]]))
