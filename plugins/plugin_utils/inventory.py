# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of this collection's inventory plugins: connection options read by the one table of them.

The plugin documents the connection options with ``env:`` entries (so ansible-core resolves the
CLOUDTOWER_* variables); this base turns them into the client's ConnectionSettings the same way the
modules do (module_utils/connection.py), so an option added to the table reaches every plugin.
"""

from __future__ import annotations

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin

from ansible_collections.smartx.cloudtower.plugins.module_utils import connection
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError


class CloudTowerInventoryBase(BaseInventoryPlugin):
    """BaseInventoryPlugin that builds its CloudTower connection settings from its options."""

    def _text_option(self, option):
        """The option as plain text, or None when unset or empty.

        An AWX credential sets every variable it defines, empty ones to "";
        empty means unset. A vaulted value decrypts on conversion to text.
        """
        value = self.get_option(option)
        return to_text(value) if value not in (None, "") else None

    def _connection_option(self, name):
        option = next(o for o in connection.OPTIONS if o.name == name)
        return self._text_option(name) if option.is_text else self.get_option(name)

    def _connection_settings(self):
        try:
            return ConnectionSettings(**connection.settings_kwargs(self._connection_option))
        except CloudTowerError as error:
            raise AnsibleParserError(error.message)
