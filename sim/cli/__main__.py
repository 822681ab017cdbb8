"""``python -m sim.cli``: the killline command line."""

import sys

from sim.cli import main

sys.exit(main())
