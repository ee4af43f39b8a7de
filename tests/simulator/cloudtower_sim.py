#!/usr/bin/env python
"""Start the CloudTower API simulator: python tests/simulator/cloudtower_sim.py --port 0 [options]."""

import sys

# Python puts this script's directory first on sys.path, so the ctsim package beside it is importable as is.
from ctsim.cli import main

if __name__ == "__main__":
    sys.exit(main())
