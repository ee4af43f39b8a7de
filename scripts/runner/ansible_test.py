"""What ansible-test needs in ~/.ansible/test before several runs start side by side on a fresh machine.

- ansible-test --venv downloads get-pip-<ver>.py from a host this machine cannot reach; it uses a cached copy
  at ~/.ansible/test/cache/get_pip_<ver with _>.py when there is one, so an offline stand-in is seeded there
  (and replaced when this tree's stand-in differs).
- ansible-test integration makes ~/.ansible/test/id_rsa on first use with ssh-keygen, which asks
  "Overwrite (y/n)?" when another run made it a moment earlier: the key pair is made once, here, before any
  run starts.
"""

import fcntl
import os
import re
import subprocess

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_standin.py")


def test_home():
    return os.path.join(os.path.expanduser("~"), ".ansible", "test")


def pip_versions(python):
    """The pip version(s) the ansible-test of ``python``'s venv bootstraps into its --venv environments."""
    code = "import ansible_test, os; print(os.path.dirname(ansible_test.__file__))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return []
    source = os.path.join(out.stdout.strip(), "_internal", "python_requirements.py")
    with open(source, encoding="utf-8") as stream:
        text = stream.read()
    match = re.search(r"def get_venv_packages\(.*?\n(?=def )", text, re.S)
    body = match.group(0) if match else text
    return sorted(set(re.findall(r"""\bpip\s*(?:=|:)\s*['"]([0-9][0-9.]*)['"]""", body)))


def _atomic_copy(source, dest):
    tmp = "%s.tmp.%d" % (dest, os.getpid())
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        dst.write(src.read())
    os.replace(tmp, dest)


def _same_content(source, dest):
    if not os.path.isfile(dest):
        return False
    with open(source, "rb") as src, open(dest, "rb") as dst:
        return src.read() == dst.read()


def seed_get_pip(python):
    """Seed the offline get-pip stand-in for every pip version ``python``'s ansible-test asks for."""
    cache = os.path.join(test_home(), "cache")
    os.makedirs(cache, exist_ok=True)
    for version in pip_versions(python):
        path = os.path.join(cache, "get_pip_%s.py" % version.replace(".", "_"))
        if not _same_content(STANDIN, path):
            _atomic_copy(STANDIN, path)


def ensure_ssh_key():
    """Make ansible-test's SSH key pair once, the way ansible-test makes it, under a lock."""
    home = test_home()
    os.makedirs(home, exist_ok=True)
    key = os.path.join(home, "id_rsa")
    with open(os.path.join(home, ".smartx-keygen.lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(key) and os.path.isfile(key + ".pub"):
            return key
        for path in (key, key + ".pub"):
            if os.path.exists(path):
                os.remove(path)
        subprocess.run(["ssh-keygen", "-m", "PEM", "-q", "-t", "rsa", "-N", "", "-f", key], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        # ansible-test rewrites newer PEM headers the same way (paramiko does not read them otherwise).
        with open(key, encoding="utf-8") as stream:
            text = re.sub(r"(BEGIN|END) PRIVATE KEY", r"\1 RSA PRIVATE KEY", stream.read())
        with open(key, "w", encoding="utf-8") as stream:
            stream.write(text)
    return key


def prepare(python):
    """Everything ansible-test of ``python``'s venv needs before runs go side by side."""
    seed_get_pip(python)
    ensure_ssh_key()
