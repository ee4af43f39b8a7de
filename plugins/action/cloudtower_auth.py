# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs smartx.cloudtower.cloudtower_auth and hides its token from callbacks.

A module cannot censor its own result, and a token shown with -v is a leaked
credential; an action plugin can mark the result no_log for display while the
registered variable keeps the token for later tasks.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name="smartx.cloudtower.cloudtower_auth", task_vars=task_vars))
        if result.get("token"):
            result["_ansible_no_log"] = True
        return result
