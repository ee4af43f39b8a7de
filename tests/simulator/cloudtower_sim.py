#!/usr/bin/env python
"""Start the CloudTower API simulator: python tests/simulator/cloudtower_sim.py --port 0 [options]."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ctsim.cli import main  # noqa: E402  pylint: disable=wrong-import-position

if __name__ == "__main__":
    sys.exit(main())
