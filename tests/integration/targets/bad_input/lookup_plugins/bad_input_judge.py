# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge runs of the bad_input corpus, in the controller.

query('bad_input_judge', run, ..., password=cloudtower_sim_password, url=cloudtower_sim_url) returns one verdict
per run: {label, problems, mutations}. A run is either
- a result of setup_simulator's simulator_run looped over cases (its loop variable names the case, and its one
  step carries the module's result and the mutating requests of that step), or
- {case, result} for a role run; its requests are the simulator's request log, which the judge reads and empties
  (so judge each role run right after it).
Each case must fail with a message naming its option and its value (value null: a combination of options, no
single value), send no mutating request and keep the password out of its result. A case may also list words its
message must contain (words), and, for a role, words that what the role's last task printed alone must contain
(printed_words) or must not contain (printed_not); a role run's result then carries printed.

The same checks were one Jinja expression over the variables of five tasks per case (the request log read twice in
set_fact, the case counted and judged); in Python they cost milliseconds and read more plainly.
"""

from __future__ import annotations

import json

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase


def label_of(case):
    return "%s (%s, %s=%s)" % (case["module"], case["why"], case["option"], json.dumps(case["value"]))


def strings_in(value):
    """Every string in a JSON value: a secret may sit in any of them."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [str(key)] + strings_in(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in strings_in(item)]
    return [value] if isinstance(value, str) else []


def problems_of(case, result, mutations, password):
    """What is wrong with one case's run: [] when it failed clearly, naming option and value, and sent nothing."""
    message = str(result.get("msg") or "")
    failed = bool(result.get("failed"))
    problems = []
    if not failed:
        problems.append("accepted")
    if failed and case["option"] not in message:
        problems.append("the message does not name the option: " + message)
    if failed and case["value"] is not None and str(case["value"]) not in message:
        problems.append("the message does not name the value: " + message)
    if failed:
        problems.extend("the message does not say %r: %s" % (word, message) for word in case.get("words", []) if word not in message)
        # printed: what the role's last task printed alone (its own rescue points at the failure rather than repeat it).
        printed = str(result.get("printed", message))
        problems.extend("the role's last task does not print %r: %s" % (word, printed)
                        for word in case.get("printed_words", []) if word not in printed)
        problems.extend("the role's last task prints %r again: %s" % (word, printed)
                        for word in case.get("printed_not", []) if word in printed)
    if mutations:
        problems.append("sent " + json.dumps([request.get("endpoint") for request in mutations]))
    if password and (password in json.dumps(result, default=str) or any(password in text for text in strings_in(result))):
        problems.append("the password is in the result")
    return problems


class LookupModule(LookupBase):
    """query('bad_input_judge', run, ..., url=..., password=...): see the module docstring."""

    def take_log(self, url):
        """The simulator's requests since the previous take, emptying its log."""
        admin = lookup_loader.get("simulator_admin", loader=self._loader, templar=self._templar)
        return admin.run(["requests?clear=1"], url=url)[0]

    def run(self, terms, variables=None, **kwargs):
        if not terms or "url" not in kwargs or "password" not in kwargs:
            raise AnsibleError("bad_input_judge takes runs, url= and password=")
        verdicts = []
        for run in terms:
            if "steps" in run:
                case = run[run.get("ansible_loop_var", "item")]
                step = run["steps"][0]
                result, mutations = step["result"], step["mutations"]
            else:
                case, result = run["case"], run["result"]
                mutations = [request for request in self.take_log(kwargs["url"]) if request.get("mutating")]
            label = label_of(case)
            verdicts.append({
                "label": label,
                "problems": ["%s: %s" % (label, problem) for problem in problems_of(case, result, mutations, kwargs["password"])],
                "mutations": [{"seq": request.get("seq"), "endpoint": request.get("endpoint")} for request in mutations],
            })
        return verdicts
