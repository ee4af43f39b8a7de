# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler behind cloudtower_vm_template: a template exists (made from a VM by clone or convert) or not.

A template is identified by its name within the cluster (an ambiguous name is refused listing the ids), so a re-run
finds the template it made and sends nothing. The template's content is never compared with its source VM: a
template is a snapshot of a VM at one moment, and making it again would not be idempotent.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vm_templates
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import VM_TEMPLATE, named_cluster, resolve_vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.plan import Executor, Plan, diff_of

MODES = ("clone", "convert")
OPERATIONS = {"clone": vm_templates.CLONE_FROM_VM, "convert": vm_templates.CONVERT_FROM_VM}


def label(record):
    return "%s (id %s)" % (record.get("name"), record.get("id"))


def plan_present(client, params, plan):
    if not params.get("vm"):
        raise InputError("vm", None, "is required to make VM template %r (the VM to %s into it)" % (params["name"], params["mode"]))
    source = resolve_vms(client, "vm", [params["vm"]], "cluster", params.get("cluster"), {"in_recycle_bin": False})[0]
    mode = params["mode"]
    if mode == "convert" and source.get("status") != "STOPPED":
        raise InputError("mode", mode, "needs VM %s stopped (it is %s): CloudTower converts only a stopped VM; stop it first, or "
                                       "use mode: clone, which keeps the VM" % (label(source), source.get("status")))
    body = vm_templates.creation_body(params["name"], source["id"], params["cloud_init_supported"], params.get("description"))
    verb = "Clone" if mode == "clone" else "Convert"
    plan.add(OPERATIONS[mode], [body], "%s VM %s into VM template %s%s" % (
        verb, label(source), params["name"], " (the VM is removed)" if mode == "convert" else ""),
        {"exists": {"before": False, "after": True}})


def run(module):
    params, client = module.params, module.client
    template = VM_TEMPLATE.find(client, "name", params["name"], named_cluster(params.get("cluster")))
    plan = Plan()
    if params["state"] == "present" and template is None:
        plan_present(client, params, plan)
    elif params["state"] == "absent" and template is not None:
        plan.add(vm_templates.DELETE, vm_templates.by_id(template["id"]), "Delete VM template %s" % label(template),
                 {"exists": {"before": True, "after": False}})
    executor = Executor(module, vm_templates)
    try:
        after = executor.run(plan, template if params["state"] == "absent" else None)
    except CloudTowerError as error:
        module.fail_from_error(error, changed=plan.sent(), actions=plan.describe(), tasks=executor.task_summaries())
        return
    if not plan:
        after = template
    result = dict(changed=bool(plan), template=after, changes=plan.steps[0].changes if plan else {}, actions=plan.describe(),
                  tasks=executor.task_summaries())
    diff = diff_of(module, {"exists": template is not None}, {"exists": params["state"] == "present"})
    if diff is not None:
        result["diff"] = diff
    module.exit_json(**result)
