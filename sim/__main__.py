"""``python -m sim``: the same as the ``escalation`` command."""

import sys

from sim.console import main

sys.exit(main())
