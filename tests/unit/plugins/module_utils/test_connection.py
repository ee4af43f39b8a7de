# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of connection options: the argument spec, the doc fragment, the inventory plugin and the client agree."""

from __future__ import annotations

import yaml

from ansible.module_utils.basic import env_fallback

from ansible_collections.smartx.cloudtower.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.smartx.cloudtower.plugins.inventory import cloudtower as inventory_plugin
from ansible_collections.smartx.cloudtower.plugins.module_utils import connection
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import connection_argument_spec


def fragment_options():
    return yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]


def inventory_options():
    return yaml.safe_load(inventory_plugin.DOCUMENTATION)["options"]


def test_the_doc_fragment_documents_exactly_the_table():
    documented = fragment_options()
    assert sorted(documented) == sorted(connection.NAMES)
    for option in connection.OPTIONS:
        doc = documented[option.name]
        assert doc["type"] == option.type, option.name
        assert doc.get("default") == option.default, option.name
        assert doc.get("choices") == option.choices, option.name
        assert any("E(%s)" % option.env in line for line in doc["description"]), option.name


def test_the_argument_spec_is_generated_from_the_table():
    spec = connection_argument_spec()
    assert sorted(spec) == sorted(connection.NAMES)
    for option in connection.OPTIONS:
        entry = spec[option.name]
        assert entry["type"] == option.type and entry.get("default") == option.default
        assert entry["fallback"] == (env_fallback, [option.env])
        assert entry.get("no_log", False) == option.no_log
    assert spec["cloudtower_password"]["no_log"] and spec["cloudtower_token"]["no_log"]


def test_the_inventory_plugin_takes_every_connection_option_language_included():
    documented = inventory_options()
    for option in connection.OPTIONS:
        doc = documented[option.name]
        assert doc["type"] == option.type, option.name
        assert doc.get("default") == option.default, option.name
        assert doc.get("choices") == option.choices, option.name
        assert doc["env"] == [{"name": option.env}], option.name


def test_settings_take_the_tables_defaults_for_unset_options():
    settings = ConnectionSettings.from_params({"cloudtower_host": "https://t.example", "cloudtower_token": "tok"})
    assert (settings.request_timeout, settings.retry_timeout) == (30.0, 60.0)
    assert (settings.language, settings.user_source, settings.validate_certs) == ("en-US", "LOCAL", True)
    chosen = ConnectionSettings.from_params({"cloudtower_host": "https://t.example", "cloudtower_token": "tok", "language": "zh-CN"})
    assert chosen.language == "zh-CN"
