"""The ansible-core releases the collection supports, and what runs on each.

One table: the runner builds its venvs from it, meta/runtime.yml's requires_ansible and the README state
it, and tests/unit/test_support_matrix.py (through scripts/runner) checks that they agree.
"""

# ansible-core release -> the controller Pythons it supports that we run it on, most preferred first.
SUPPORTED = (
    ("2.16", ("3.12", "3.11", "3.10")),
    ("2.17", ("3.12", "3.11", "3.10")),
    ("2.18", ("3.13", "3.12", "3.11")),
    ("2.19", ("3.13", "3.12", "3.11")),
    ("2.20", ("3.13", "3.12")),
    ("2.21", ("3.13", "3.12")),
)
OLDEST = SUPPORTED[0][0]
NEWEST = SUPPORTED[-1][0]

# Integration targets every release runs (the full suite runs on the newest).
SMOKE_TARGETS = ("cloudtower_vm", "cloudtower_vm_snapshot", "role_vm_backup", "inventory_cloudtower")

# Releases a plain `scripts/test.sh` checks besides the newest (the rest run with `scripts/test.sh matrix`).
EVERY_RUN = (OLDEST,)
# What a plain `scripts/test.sh` runs on them: the runtime checks. Sanity on the oldest release (about 250 of the
# run's CPU-seconds: its own pylint, pep8 and validate-modules) runs with `scripts/test.sh matrix` or `core-2.16`.
STEPS = ("sanity", "units", "smoke")
EVERY_RUN_STEPS = ("units", "smoke")


def pythons_for(core):
    """The controller Pythons (MAJOR.MINOR, preferred first) that ansible-core ``core`` runs on here."""
    for release, pythons in SUPPORTED:
        if release == core:
            return pythons
    raise KeyError("ansible-core %s is not in the support matrix" % core)


def requirement_for(core):
    """A pip requirement for the newest patch release of ansible-core ``core`` (e.g. 2.16 -> >=2.16,<2.17)."""
    major, minor = core.split(".")
    return "ansible-core>=%s.%s,<%s.%d" % (major, minor, major, int(minor) + 1)


def releases():
    """Every supported release, oldest first."""
    return [release for release, dummy in SUPPORTED]
