"""The CloudTower API versions the simulator can impersonate, and what differs between them."""

VERSIONS = ("1.8.0", "1.10.0", "4.6.0")
DEFAULT_VERSION = "4.6.0"


def version_key(version):
    """Sortable tuple for a dotted version ("1.10" > "1.8")."""
    return tuple(int(part) for part in str(version).split("."))


def normalise(version):
    """Accept "1.10" or "1.10.0"; return the canonical three-part form or raise ValueError."""
    text = str(version).strip()
    for known in VERSIONS:
        if text in (known, known.rsplit(".", 1)[0]):
            return known
    raise ValueError("unsupported api version %r (choose from %s)" % (version, ", ".join(VERSIONS)))


def at_least(version, minimum):
    return version_key(version) >= version_key(minimum)


# Two-character operators first, so ">=1.10" is not read as ">" "=1.10".
CONDITION_OPERATORS = (">=", "<=", "==", "!=", "<", ">")


def versions_matching(condition):
    """The set of supported versions a condition such as ">=1.10", "<4.6", "==1.10" or "!=1.10" selects."""
    if not condition:
        return frozenset(VERSIONS)
    for operator in CONDITION_OPERATORS:
        if condition.startswith(operator):
            bound = version_key(condition[len(operator):])
            break
    else:
        raise ValueError("bad version condition %r" % condition)
    tests = {
        ">=": lambda key: key >= bound, "<=": lambda key: key <= bound, "==": lambda key: key[:len(bound)] == bound,
        "!=": lambda key: key[:len(bound)] != bound,
        "<": lambda key: key < bound, ">": lambda key: key > bound,
    }
    return frozenset(v for v in VERSIONS if tests[operator](version_key(v)))


class Features:
    """Behaviours the selected version changes outside the declared shapes.

    Field sets, enum values, request parameters (e.g. delete-vm's `effect` from 2.7) and orderBy values
    (createdAt_* until 2.1) are version-tagged in schema.py and params.py; this class holds the rest.
    """

    def __init__(self, version):
        self.version = version
        # 1.8 answers errors with a bare JSON string; 1.10 introduced ErrorBody with the real status.
        self.error_body_object = at_least(version, "1.10")
        self.paused_task_status = at_least(version, "1.10")
        # x-tower-request-id appeared in 2.5, the ResourceLocked error code in 3.3, content-language "*" in 4.6.
        self.request_id_header = at_least(version, "2.5")
        self.resource_locked_error = at_least(version, "3.3")
        self.content_language_any = at_least(version, "4.6")
