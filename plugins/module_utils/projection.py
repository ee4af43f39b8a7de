# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``query`` option of the info modules: a JMESPath expression over the results."""

from __future__ import annotations

import traceback

try:
    import jmespath
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError


def compile_query(option, expression):
    """Compile early, so a typo fails before any request is sent."""
    if not expression:
        return None
    if not HAS_JMESPATH:
        raise CloudTowerError("Option '%s' needs the Python library jmespath: pip install jmespath" % option,
                              exception=JMESPATH_IMPORT_ERROR)
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as error:
        raise InputError(option, expression, "is not a valid JMESPath expression: %s" % str(error).replace("\n", " "))


def apply_query(compiled, data):
    """The data itself when no query was given."""
    return data if compiled is None else compiled.search(data)
