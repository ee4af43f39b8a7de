#!/usr/bin/env python
"""Which tools the simulator's data plane needs, and installing them (Debian/Ubuntu, as root).

    python tests/simulator/ctsim/dataplane_deps.py            # report; exit 0 when everything is there, else 1
    python tests/simulator/ctsim/dataplane_deps.py --install  # apt-get install what is missing (root only)

From Python (a test runner): `missing()` -> [(tool, package, why)], `install_missing()` -> (ok, message),
`portal_unavailable_reason()` -> None or the one-line reason tests skip with. The API-only simulator needs none
of this; the iSCSI portal needs tgtd/tgtadm, qemu-img with its iscsi driver and iscsi-ls; exports and imports
need qemu-img.
"""

import os
import shutil
import subprocess
import sys

# tool -> (Debian package, what needs it)
TOOLS = {
    "tgtd": ("tgt", "the iSCSI portal (user-space target daemon)"),
    "tgtadm": ("tgt", "configuring the portal's targets and LUNs"),
    "qemu-img": ("qemu-utils", "export/import conversions and reading LUNs over iSCSI"),
    "qemu-img iscsi driver": ("qemu-block-extra", "qemu-img reading iscsi:// URLs (libiscsi)"),
    "iscsi-ls": ("libiscsi-bin", "listing the portal's targets from an initiator"),
}
PACKAGES = ("tgt", "qemu-utils", "qemu-block-extra", "libiscsi-bin")


def qemu_has_iscsi():
    """Whether qemu-img lists the iscsi block driver (it lives in qemu-block-extra on Debian)."""
    if shutil.which("qemu-img") is None:
        return False
    result = subprocess.run(["qemu-img", "--help"], capture_output=True, text=True, check=False)
    return " iscsi" in result.stdout or "iscsi " in result.stdout


def _present(tool):
    if tool == "qemu-img iscsi driver":
        return qemu_has_iscsi()
    return shutil.which(tool) is not None


def missing():
    """[(tool, package, why)] of what is not installed."""
    return [(tool, package, why) for tool, (package, why) in TOOLS.items() if not _present(tool)]


def missing_packages():
    return sorted({package for _tool, package, _why in missing()})


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def install_missing(quiet=True):
    """apt-get install the missing packages when running as root. Returns (ok, message)."""
    packages = missing_packages()
    if not packages:
        return True, "data-plane tools present"
    if not is_root():
        return False, "missing %s; install as root: apt-get install -y %s" % (", ".join(packages), " ".join(packages))
    if shutil.which("apt-get") is None:
        return False, "missing %s and no apt-get on this machine" % ", ".join(packages)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    output = subprocess.DEVNULL if quiet else None
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + packages):
        if subprocess.run(command, env=env, stdout=output, stderr=output, check=False).returncode != 0:
            return False, "%s failed" % " ".join(command[:2])
    still = missing_packages()
    return (not still), ("installed %s" % " ".join(packages) if not still else "still missing %s" % ", ".join(still))


def portal_unavailable_reason():
    """None when an iSCSI portal can run here, else one line saying why not (tests skip with it)."""
    gone = missing()
    if gone:
        packages = sorted({package for _tool, package, _why in gone})
        return "data-plane tools missing (%s): apt-get install %s" % (", ".join(tool for tool, _p, _w in gone), " ".join(packages))
    if not is_root():
        return "tgtd needs root (its control socket lives in /var/run/tgtd)"
    return None


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if "--install" in args:
        ok, message = install_missing(quiet="--verbose" not in args)
        sys.stdout.write(message + "\n")
        return 0 if ok else 1
    gone = missing()
    for tool, package, why in gone:
        sys.stdout.write("missing %-22s (package %s): %s\n" % (tool, package, why))
    if not gone:
        sys.stdout.write("data-plane tools present\n")
    return 1 if gone else 0


if __name__ == "__main__":
    sys.exit(main())
