"""Print how long each integration target took, from ansible-test's tests/output/data/integration-*.json.

Usage: integration_times.py COLLECTION_ROOT
"""

import glob
import json
import os
import sys


def main():
    pattern = os.path.join(sys.argv[1], "tests", "output", "data", "integration-*.json")
    times = {}
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
        for name, target in data.get("targets", {}).items():
            if target.get("run_time_seconds") is not None:
                times[name] = target["run_time_seconds"]
    if not times:
        return
    print("Integration target durations (s):")
    for name, seconds in sorted(times.items(), key=lambda item: -item[1]):
        print("  %6d  %s" % (seconds, name))
    print("  %6d  total of %d target(s)" % (sum(times.values()), len(times)))


if __name__ == "__main__":
    main()
