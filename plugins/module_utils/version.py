# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own version, sent as User-Agent and written into backup manifests.

A unit test keeps it equal to galaxy.yml's version.
"""

from __future__ import annotations

COLLECTION_VERSION = "0.1.0"
USER_AGENT = "smartx.cloudtower/%s (Ansible collection)" % COLLECTION_VERSION
