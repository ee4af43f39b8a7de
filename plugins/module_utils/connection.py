# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of connection options.

Modules get their argument spec from it (``argument_spec``), the inventory plugin reads its options by it
(``plugin_utils/inventory.py``), and both build the client's ConnectionSettings from it (``settings_kwargs``).
The doc fragment ``smartx.cloudtower.connection`` documents the same options; a unit test proves they agree
(names, types, defaults, choices, environment variables), so an option cannot be added in one place only.
"""

from __future__ import annotations


class Option:
    """One connection option: its name, the ConnectionSettings argument it fills, its type and fallbacks."""

    def __init__(self, name, setting, type, env, default=None, choices=None, no_log=False):
        self.name = name
        self.setting = setting
        self.type = type
        self.env = env
        self.default = default
        self.choices = choices
        self.no_log = no_log

    @property
    def is_text(self):
        # Text options set to "" (as an AWX credential sets every variable it defines) count as unset.
        return self.type in ("str", "path")


OPTIONS = (
    Option("cloudtower_host", "host", "str", "CLOUDTOWER_HOST"),
    Option("cloudtower_username", "username", "str", "CLOUDTOWER_USERNAME"),
    Option("cloudtower_password", "password", "str", "CLOUDTOWER_PASSWORD", no_log=True),
    Option("cloudtower_user_source", "user_source", "str", "CLOUDTOWER_USER_SOURCE", default="LOCAL", choices=["LOCAL", "LDAP"]),
    Option("cloudtower_token", "token", "str", "CLOUDTOWER_TOKEN", no_log=True),
    Option("validate_certs", "validate_certs", "bool", "CLOUDTOWER_VALIDATE_CERTS", default=True),
    Option("ca_path", "ca_path", "path", "CLOUDTOWER_CA_PATH"),
    Option("language", "language", "str", "CLOUDTOWER_LANGUAGE", default="en-US", choices=["en-US", "zh-CN"]),
    Option("request_timeout", "request_timeout", "float", "CLOUDTOWER_REQUEST_TIMEOUT", default=30.0),
    Option("retry_timeout", "retry_timeout", "float", "CLOUDTOWER_RETRY_TIMEOUT", default=60.0),
)
NAMES = tuple(option.name for option in OPTIONS)
# {ConnectionSettings argument: default} for the options that have one.
DEFAULTS = {option.setting: option.default for option in OPTIONS if option.default is not None}


def argument_spec(env_fallback):
    """The modules' argument spec of the connection options (env_fallback: ansible's, passed in by module.py)."""
    spec = {}
    for option in OPTIONS:
        entry = dict(type=option.type, fallback=(env_fallback, [option.env]))
        if option.default is not None:
            entry["default"] = option.default
        if option.choices:
            entry["choices"] = list(option.choices)
        if option.no_log:
            entry["no_log"] = True
        spec[option.name] = entry
    return spec


def settings_kwargs(get):
    """ConnectionSettings' keyword arguments from get(option name), a module's params.get or a plugin's get_option.

    An option that is unset (None) takes the table's default, so no default is written twice.
    """
    kwargs = {}
    for option in OPTIONS:
        value = get(option.name)
        kwargs[option.setting] = option.default if value is None else value
    return kwargs
