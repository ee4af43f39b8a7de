# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CloudTower API layer: one small module per resource.

Only these modules spell CloudTower's operation names, the shapes of its ``where`` clauses and its
error codes; the reconcilers and modules above them speak of VMs, snapshots and tasks.
"""
