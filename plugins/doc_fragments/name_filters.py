# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The name filters of the *_info modules of a named resource (module_utils.info.NAME_FILTERS)."""

    DOCUMENTATION = r"""
options:
  id:
    description: Id of one record.
    type: str
  ids:
    description: Ids of several records.
    type: list
    elements: str
  name:
    description: Exact name. Names are not always unique in CloudTower, so this can match several records.
    type: str
  names:
    description: Exact names; records with any of them match.
    type: list
    elements: str
  name_contains:
    description: Part of the name.
    type: str
"""
