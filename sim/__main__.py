"""``python -m sim``: the same as the ``escalation`` command."""

import sys

from sim.cli import main

sys.exit(main())
