# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options shared by the *_info modules."""

    DOCUMENTATION = r"""
options:
  where:
    description:
      - A raw CloudTower C(where) filter (Prisma syntax, as in the API reference) for anything the other options
        do not cover. It is combined with them by AND.
      - CloudTower rejects keys it does not know; the module then fails with its message.
    type: dict
  order_by:
    description:
      - Order of the results, one CloudTower C(orderBy) value such as V(name_ASC) or V(local_created_at_DESC).
      - Without it, CloudTower returns records in creation order.
    type: str
  limit:
    description:
      - Return at most this many records. By default every matching record is returned, reading all pages.
    type: int
  fields:
    description:
      - Return only these fields of each record (C(id) is always kept), for example V([name, status, ips]).
      - They are cut from each page as it arrives, which keeps large listings fast and small; by default every
        field CloudTower returns is kept.
      - Ansible's own work on a result grows with the number of values in it (masking secrets in the module,
        registering the result); for thousands of records, ask for the fields you use. Measured on 10,000 VMs -
        about 13 s with every field, 4.5 s with 8 fields (C(benchmarks/README.md)).
      - A field CloudTower's records do not have is reported in a warning.
    type: list
    elements: str
  query:
    description:
      - A JMESPath expression applied to the list of results; its value is returned in RV(query_result).
      - The expression is checked before any request is sent.
    type: str
"""
