"""Print the pip version(s) the installed ansible-test bootstraps into its --venv environments.

Read from ansible_test's own source (get_venv_packages in python_requirements.py), so the offline
get-pip stand-in is seeded under the exact file name ansible-test looks for
(~/.ansible/test/cache/get_pip_<version with _>.py).
"""

import os
import re
import sys

try:
    import ansible_test
except ImportError:
    sys.exit(0)

SOURCE = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")

with open(SOURCE, encoding="utf-8") as f:
    text = f.read()

match = re.search(r"def get_venv_packages\(.*?\n(?=def )", text, re.S)
body = match.group(0) if match else text
versions = sorted(set(re.findall(r"""\bpip\s*(?:=|:)\s*['"]([0-9][0-9.]*)['"]""", body)))
if not versions:
    sys.exit("could not find the pip version in %s" % SOURCE)
print("\n".join(versions))
