#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Looks for secrets in files: every line of each --secrets file (a password, tokens) is searched for in every
file under the given paths, as is, JSON-escaped and base64-encoded. Prints what was scanned and where a secret
was found (never the secret itself) and exits 1 when one was.

usage: scan_secrets.py --secrets FILE [--secrets FILE ...] [--min-secrets N] PATH...
"""

import argparse
import base64
import json
import os
import sys


def forms(secret):
    """The ways a secret can appear in text output."""
    encoded = base64.b64encode(secret.encode("utf-8")).decode("ascii")
    return {secret, json.dumps(secret)[1:-1], encoded.rstrip("=")}


def files_under(paths):
    for path in paths:
        if os.path.isdir(path):
            for directory, _dirs, names in os.walk(path):
                for name in sorted(names):
                    yield os.path.join(directory, name)
        elif os.path.exists(path):
            yield path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", action="append", required=True, help="file with one secret per line")
    parser.add_argument("--min-secrets", type=int, default=1, help="fail when fewer secrets than this were given")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    secrets = []
    for path in args.secrets:
        with open(path, encoding="utf-8") as stream:
            secrets += [line.strip() for line in stream if line.strip()]
    secrets = sorted(set(secrets))
    if len(secrets) < args.min_secrets:
        print("FAILED: only %d secret(s) to look for, expected at least %d" % (len(secrets), args.min_secrets))
        return 1
    hits, scanned, size = [], 0, 0
    for path in files_under(args.paths):
        with open(path, "rb") as stream:
            text = stream.read().decode("utf-8", errors="replace")
        scanned += 1
        size += len(text)
        for number, secret in enumerate(secrets):
            for form in forms(secret):
                position = text.find(form)
                if position >= 0:
                    line = text.count("\n", 0, position) + 1
                    hits.append("%s:%d: secret #%d of %d" % (path, line, number + 1, len(secrets)))
                    break
    print("secrets scan: %d secret(s) looked for in %d file(s), %d bytes: %d found" % (len(secrets), scanned, size, len(hits)))
    for hit in hits:
        print("  FOUND " + hit)
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
