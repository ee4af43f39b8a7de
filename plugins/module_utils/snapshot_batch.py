# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot batch behind cloudtower_vm_snapshot: plan, send, settle races, per-VM outcome, retention, revert.

state=present takes the snapshots of every selected VM in one request and waits for their tasks in one batched
wait; state=absent deletes (and prunes) in one request; state=reverted rolls one VM back through the plan
executor. Operation names and request bodies come from the API layer (api/snapshots.py, api/vms.py).
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import ApiError, InputError, NotFoundError, describe_task, task_summary
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import VM, named_cluster, resolve_cluster_scope
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import snapshots as api_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms as api_vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.plan import Executor, Plan
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import values_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.retention import RetentionPolicy, format_timestamp, utc_now
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import (
    choose_consistency,
    cluster_id_of,
    expand_name,
    name_before_resolving,
    named_for_its_vm,
    refuse_colliding_names,
    refuse_names_held_by_other_vms,
    select_vms,
    selects_many_vms,
    snapshot_summary,
    snapshots_by_vm,
    status_from_task,
    task_error,
    validate_name_template,
    vm_id_of,
    vm_label,
    vm_stub,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.snapshots import find_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.tasks import task_ids_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import busy, wait_until_idle

STOPPABLE = ("RUNNING", "SUSPENDED")
DELETION_CHANGES = ("deleted", "pending", "timed_out", "would_delete")


# ----- validation, before any request -----------------------------------------------
def validate_options(params):
    """Everything that can be judged from the options alone; returns the retention policy (or None)."""
    state = params["state"]
    many = selects_many_vms(params)
    validate_name_template("name", params.get("name"), many=(state == "present" and many))
    validate_name_template("retention_prefix", params.get("retention_prefix"), many=False)
    has_vm_selection = bool(params.get("vm") or params.get("vms")) or params.get("where") is not None
    if state == "present":
        if params.get("id"):
            raise InputError("id", params["id"], "only applies to state=absent or state=reverted; state=present takes a snapshot named by name")
        if not params.get("name"):
            raise InputError("name", None, "is required with state=present: the name of the snapshot to take")
        if not has_vm_selection:
            raise InputError("vm", None, "state=present needs the VM(s) to snapshot: give vm, vms or where")
    for option in ("stop_vm", "force"):
        if params.get(option) and state != "reverted":
            raise InputError(option, True, "only applies to state=reverted")
    if state == "reverted":
        return validate_revert_options(params)
    policy = RetentionPolicy.from_params(params, creating=(state == "present"))
    if state == "absent":
        if not (params.get("name") or params.get("id") or policy):
            raise InputError("name", None, "state=absent needs name or id of the snapshot to delete, or keep_last/older_than to prune")
        if (params.get("name") or policy) and not has_vm_selection:
            raise InputError("vm", None, "deleting by name or pruning needs the VM(s): give vm, vms or where")
    return policy


def validate_revert_options(params):
    for option in ("vms", "where", "keep_last", "older_than", "retention_prefix"):
        if params.get(option) is not None:
            raise InputError(option, params[option], "does not apply to state=reverted, which rolls back one VM (give vm, and name or id)")
    if not (params.get("name") or params.get("id")):
        raise InputError("name", None, "state=reverted needs the snapshot: give name (with vm) or id")
    if params.get("name") and not params.get("vm"):
        raise InputError("vm", None, "state=reverted with name needs vm, the VM whose snapshot it is")
    return None


# ----- per-VM results ----------------------------------------------------------------
def vm_result(vm, name, status, changed, **extra):
    result = dict(vm=vm_stub(vm), name=name, status=status, changed=changed, task_id=None, error=None, snapshot=None)
    result.update(extra)
    return result


def failed_members(results, deleted):
    """The failed or unfinished members of the batch, as the failure lists them."""
    members = []
    for entry in list(results) + list(deleted):
        if entry["status"] in ("failed", "timed_out"):
            members.append(dict(vm=entry.get("vm"), name=entry.get("name"), status=entry["status"], task_id=entry.get("task_id"),
                                error_code=(entry.get("error") or {}).get("code"),
                                error_message=(entry.get("error") or {}).get("message")))
    return members


def failure_message(failures, total_vms, tasks_by_id, wait_timeout):
    lines = []
    for member in failures:
        task = tasks_by_id.get(member["task_id"])
        detail = describe_task(task) if task else (member["error_message"] or "no task")
        if member["status"] == "timed_out":
            detail = "not finished within wait_timeout=%ss: %s" % (wait_timeout, detail)
        lines.append("%s, snapshot %r: %s" % (vm_label(member["vm"]), member["name"], detail))
    return "%d of the requested snapshot operations on %d VM(s) failed or did not finish: %s" % (len(failures), total_vms, "; ".join(lines))


class Run:
    """What one module run read, decided and did; turned into the module's result at the end."""

    def __init__(self, module):
        self.module = module
        self.client = module.client
        self.params = module.params
        self.plan = Plan()
        self.tasks = []
        self.results = []
        self.deleted = []
        self.snapshots = []
        self.diff_before = {}
        self.diff_after = {}
        self.now = utc_now()

    @property
    def waits(self):
        return self.params["wait"]

    def send(self, step):
        """Send one planned mutation; returns its {task_id, data} replies."""
        step.replies = self.client.mutate(step.operation, step.body)
        step.task_ids = task_ids_of(step.replies)
        return step.replies

    def await_tasks(self, task_ids, must_wait=False):
        """{task id: task} once final (or as they are, with wait: false); never raises for a failed task."""
        if not task_ids:
            return {}
        if self.waits or must_wait:
            tasks = self.module.waiter.wait_outcome(task_ids).tasks
        else:
            tasks = self.module.waiter.snapshot(task_ids)
        self.tasks.extend(tasks)
        return {t["id"]: t for t in tasks}

    def record_diff(self, vm, before_names, after_names):
        key = vm_label(vm)
        self.diff_before[key] = sorted(before_names)
        self.diff_after[key] = sorted(after_names)

    def finish(self, **extra):
        result = dict(
            changed=any(r["changed"] for r in self.results) or any(d["status"] in DELETION_CHANGES for d in self.deleted),
            snapshots=self.snapshots,
            results=self.results,
            results_by_vm_id={r["vm"]["id"]: r for r in self.results if r.get("vm")},
            deleted=self.deleted,
            tasks=[task_summary(t) for t in self.tasks],
            actions=self.plan.describe(),
        )
        result.update(extra)
        if self.module._diff:
            result["diff"] = {"before": self.diff_before, "after": self.diff_after}
        failures = failed_members(self.results, self.deleted)
        if failures:
            tasks_by_id = {t["id"]: t for t in self.tasks}
            message = failure_message(failures, len(self.results), tasks_by_id, self.module.waiter.timeout)
            self.module.fail_json(msg=self.client.redact(self.module.describe_failure(message)), failures=failures, **result)
        self.module.exit_json(**result)


# ----- retention --------------------------------------------------------------------------
class Pruning:
    """The snapshots a retention policy deletes, per VM, decided before anything is sent."""

    def __init__(self, policy, template_prefix):
        self.policy = policy
        self.template_prefix = template_prefix

    def prefix_for(self, vm):
        return expand_name(self.template_prefix, vm)

    def read_owned(self, client, vms):
        """Each VM's snapshots under its prefix, in one query for the whole batch."""
        found = find_snapshots(client, vm_ids=[vm["id"] for vm in vms], name_prefixes=[self.prefix_for(vm) for vm in vms])
        return snapshots_by_vm(found)

    def decide(self, vm, snapshots, now, new_name=None):
        """Select this VM's snapshots to delete; new_name is a snapshot this run takes (the newest, never deleted)."""
        candidates = list(snapshots)
        if new_name is not None:
            candidates.append({"id": None, "name": new_name, "local_created_at": format_timestamp(now), "entityAsyncStatus": None})
        return [(s, reason) for s, reason in self.policy.select(candidates, now, prefix=self.prefix_for(vm)) if s.get("id")]


def deletion_entry(snapshot, reason, status):
    entry = snapshot_summary(snapshot)
    entry.update(reason=reason, status=status, task_id=None, error=None)
    return entry


def send_deletions(run, entries, must_wait=False):
    """One delete-vm-snapshot for every entry, waited for once; fills in each entry's status."""
    if not entries:
        return
    ids = [e["id"] for e in entries]
    step = run.plan.add(api_snapshots.DELETE, api_snapshots.delete_body(ids), "Delete %d snapshot(s) in one request" % len(ids))
    if run.module.check_mode:
        return
    replies = run.send(step)
    task_of = {(r.get("data") or {}).get("id"): r.get("task_id") for r in replies}
    tasks = run.await_tasks(step.task_ids, must_wait=must_wait)
    for entry in entries:
        if entry["id"] not in task_of:
            # Gone between our read and the delete (deleted by someone else): the goal is met, by no change of ours.
            entry["status"] = "absent"
            continue
        task = tasks.get(task_of[entry["id"]])
        entry["task_id"] = task_of[entry["id"]]
        entry["status"] = status_from_task(task, "deleted", run.waits or must_wait)
        entry["error"] = task_error(task)


# ----- state=present ------------------------------------------------------------------------
class Creation:
    """One VM's planned snapshot."""

    def __init__(self, vm, name, existing):
        self.vm = vm
        self.name = name
        self.existing = existing
        self.consistent_type = None
        self.result = None


class SnapshotsReadFirst:
    """The snapshots named as O(name) names them for the vm / vms values, read before the VMs themselves.

    When each value already holds its snapshot, that one query settles the run: a no-change run costs one
    request. Otherwise the VMs are resolved as always (an ambiguous or unknown name fails) and this read
    stands in for the read of same-named snapshots that creating needs, so creating costs nothing more.
    """

    def __init__(self, template, values, names, snapshots):
        self.values = values
        self.names = set(names)
        self.snapshots = snapshots
        own = [s for s in snapshots if named_for_its_vm(template, s)]
        self.own_by_vm_id = snapshots_by_vm(own)
        self.own_by_vm_name = {}
        for snapshot in own:
            self.own_by_vm_name.setdefault(snapshot["vm"].get("name"), []).append(snapshot)

    @classmethod
    def read(cls, client, params):
        """None when the VMs come from where, or when a name depends on what only the VM record tells."""
        values = values_of(params, "vm", "vms")
        names = [name_before_resolving(params["name"], value) for value in values]
        if not values or None in names:
            return None
        snapshots = find_snapshots(client, names=names, scope=named_cluster(params.get("cluster")))
        return cls(params["name"], values, names, snapshots)

    def held_by(self, value):
        """The snapshots of the VM that value identifies, else of the VMs it names, each named for its own VM."""
        return self.own_by_vm_id.get(value) or self.own_by_vm_name.get(value, [])

    def creations_if_all_exist(self):
        """A Creation per value, each with its snapshot, when every value holds exactly one; else None."""
        holdings = [self.held_by(value) for value in self.values]
        if any(len(held) != 1 for held in holdings):
            return None
        if any(busy(held[0]) for held in holdings):
            # One is still being created (or deleted) by an earlier run: not done yet, and should it vanish it is
            # made again, which needs the VMs themselves.
            return None
        snapshots = [held[0] for held in holdings]
        if len({vm_id_of(s) for s in snapshots}) != len(snapshots):
            return None
        return [Creation(dict(s["vm"], cluster=s.get("cluster")), s["name"], s) for s in snapshots]

    def covering(self, names):
        """The snapshots read, when they are all the snapshots with these names; else None."""
        return self.snapshots if set(names) <= self.names else None


def plan_creations(client, params, vms, read_first=None):
    """A Creation per VM, after refusing (or, with name_collision=append_vm_id, resolving) names that would collide."""
    template = params["name"]
    planned = [(vm, expand_name(template, vm)) for vm in vms]
    disambiguate = params.get("name_collision") == "append_vm_id"
    if disambiguate:
        planned = append_vm_id_where_colliding(planned)
    refuse_colliding_names("name", template, planned)
    names = [name for _vm, name in planned]
    same_named = read_first.covering(names) if read_first else None
    if same_named is None:
        same_named = find_snapshots(client, names=names)
    if disambiguate and held_by_other_vms(planned, same_named):
        planned = append_vm_id_where_colliding(planned, held_by_other_vms(planned, same_named))
        names = [name for _vm, name in planned]
        same_named = find_snapshots(client, names=names)
    refuse_names_held_by_other_vms("name", template, planned, same_named)
    own = {(vm_id_of(s), s["name"]): s for s in same_named}
    return [Creation(vm, name, own.get((vm["id"], name))) for vm, name in planned]


def append_vm_id_where_colliding(planned, also=()):
    """[(vm, name)] with "-<vm id>" appended to the names two VMs of one cluster would share (and to those in also).

    VM names are not unique in CloudTower (clones make same-named pairs every day), so a {vm_name} template can
    give two VMs of one cluster one snapshot name. Only the colliding names change, and the same VMs always get the
    same names, so a re-run finds the snapshots it took.
    """
    count = {}
    for vm, name in planned:
        key = (cluster_id_of(vm), name)
        count[key] = count.get(key, 0) + 1
    return [(vm, "%s-%s" % (name, vm["id"]) if count[(cluster_id_of(vm), name)] > 1 or vm["id"] in also else name)
            for vm, name in planned]


def held_by_other_vms(planned, existing):
    """The ids of the VMs whose planned name another VM's snapshot already has in the same cluster."""
    held = set()
    for vm, name in planned:
        for snapshot in existing:
            if snapshot.get("name") == name and cluster_id_of(snapshot) == cluster_id_of(vm) and vm_id_of(snapshot) != vm["id"]:
                held.add(vm["id"])
    return held


def apply_consistency(module, creations):
    to_create = [c for c in creations if c.existing is None]
    chosen, warnings = choose_consistency([c.vm for c in to_create], module.params["consistent_type"], module.params["fallback_to_crash_consistent"])
    for warning in warnings:
        module.warn(warning)
    for creation in to_create:
        creation.consistent_type = chosen[creation.vm["id"]]
    return to_create


def creation_body(to_create):
    return api_snapshots.create_body([(c.vm["id"], c.name, c.consistent_type) for c in to_create])


def match_replies_to_vms(replies, to_create):
    """{vm id: reply}: by the snapshot's VM, else its name, else position (one reply per data entry)."""
    by_name = {c.name: c.vm["id"] for c in to_create}
    matched = {}
    for position, reply in enumerate(replies):
        data = reply.get("data") or {}
        vm_id = vm_id_of(data) or by_name.get(data.get("name"))
        if vm_id is None and position < len(to_create):
            vm_id = to_create[position].vm["id"]
        matched[vm_id] = reply
    return matched


def send_creations(run, step, to_create, must_wait):
    busy_vms = [c.vm["id"] for c in to_create if busy(c.vm)]
    if busy_vms:
        # A VM still busy with an earlier task would fail its snapshot task (before 3.3) or refuse it.
        wait_until_idle(run.client, api_vms.READ, busy_vms, run.module.waiter.timeout)
    try:
        replies = match_replies_to_vms(run.send(step), to_create)
    except ApiError as error:
        to_create[:] = recover_from_refused_batch(run, to_create, error, must_wait or run.waits)
        if not to_create:
            return
        step.body = creation_body(to_create)
        replies = match_replies_to_vms(run.send(step), to_create)
    request = {"operation": step.operation, "request_id": run.client.last_mutation_request_id}
    tasks = run.await_tasks(step.task_ids, must_wait=must_wait)
    waited = run.waits or must_wait
    succeeded = [r["data"]["id"] for r in replies.values() if tasks.get(r.get("task_id"), {}).get("status") == "SUCCESSED"]
    # Re-read once CloudTower stops showing them CREATING, so the next task (a prune, a delete) sees them settled.
    fresh = wait_until_idle(run.client, api_snapshots.READ, succeeded, run.module.waiter.timeout) if waited and succeeded else {}
    for creation in to_create:
        reply = replies.get(creation.vm["id"])
        if reply is None:
            creation.result = vm_result(creation.vm, creation.name, "failed", False, consistent_type=creation.consistent_type,
                                        error={"code": None, "message": "CloudTower answered the request with no task for this VM"})
            continue
        task = tasks.get(reply.get("task_id"))
        status = status_from_task(task, "created", waited)
        snapshot = fresh.get(reply["data"]["id"]) if waited else reply.get("data")
        creation.result = vm_result(creation.vm, creation.name, status, status != "failed", consistent_type=creation.consistent_type,
                                    task_id=reply.get("task_id"), request=request, error=task_error(task), snapshot=snapshot)
    lost = [c for c in to_create if c.result["status"] == "failed" and (c.result["error"] or {}).get("code") == api_snapshots.DUPLICATE_NAME]
    if lost:
        refused_ids = [(replies[c.vm["id"]].get("data") or {}).get("id") for c in lost]
        settle_lost_races(run, lost, None, waited, ignore_ids=refused_ids)


def recover_from_refused_batch(run, to_create, error, waited):
    """The creations to send again after CloudTower refused the whole batch for some of its VMs; raises otherwise."""
    if api_snapshots.DUPLICATE_NAME in (error.api_code, error.api_message):
        # The names were free when read, so another run took some since.
        return settle_lost_races(run, to_create, error, waited)
    if error.is_resource_locked:
        return set_aside_locked_vms(to_create, error)
    raise error


def set_aside_locked_vms(to_create, error):
    """The creations of the VMs that are not locked, once the locked ones stayed locked past retry_timeout.

    One busy VM would otherwise keep every other VM of a nightly backup from its snapshot.
    """
    locked = {r.get("id") for r in (error.props or {}).get("locked_resources") or [] if isinstance(r, dict)}
    held = [c for c in to_create if c.vm["id"] in locked]
    if not held or len(held) == len(to_create):
        raise error
    for creation in held:
        creation.result = vm_result(creation.vm, creation.name, "failed", False, consistent_type=creation.consistent_type,
                                    error={"code": error.api_code, "message": error.message})
    return [c for c in to_create if c not in held]


def settle_lost_races(run, creations, refusal, waited, ignore_ids=()):
    """The creations still to make after losing a race to another run that made the same snapshot.

    Two runs ensuring one snapshot at once both find it missing and both ask for it; CloudTower makes one and
    refuses the other's name. The loser's VM then has the snapshot it asked for: it ends "exists", unchanged,
    as if it had been read before. A name taken by another VM stays the failure it is.
    """
    wanted = {(c.vm["id"], c.name) for c in creations}
    found = [s for s in find_snapshots(run.client, names=[c.name for c in creations])
             if s["id"] not in ignore_ids and (vm_id_of(s), s["name"]) in wanted]
    if waited and found:
        # Another loser's refused snapshot may still show, CREATING, until CloudTower rolls it back; the winner's
        # may still be CREATING too, and later steps (LUN snapshots, a prune) need it finished. Keep what remains.
        fresh = wait_until_idle(run.client, api_snapshots.READ, [s["id"] for s in found], run.module.waiter.timeout)
        found = [fresh[s["id"]] for s in found if s["id"] in fresh]
    won_elsewhere = {vm_id_of(s): s for s in found}
    if refusal is not None and not won_elsewhere:
        raise refusal
    remaining = []
    for creation in creations:
        snapshot = won_elsewhere.get(creation.vm["id"])
        if snapshot is None:
            remaining.append(creation)
        else:
            creation.result = vm_result(creation.vm, creation.name, "exists", False, snapshot=snapshot)
    return remaining


def settle_busy_existing(run, creations, must_wait=False):
    """The snapshots found still CREATING (or DELETING), as a task of an earlier run leaves them, waited for.

    Such a snapshot is not done: its task may still fail, and CloudTower then removes it. So it counts as
    existing only once idle. One that vanishes meanwhile is made again (its creation is planned as missing);
    one still busy after wait_timeout is reported timed_out. With wait: false it is reported pending, unchanged.
    """
    held = [c for c in creations if c.existing is not None and busy(c.existing)]
    if not held:
        return
    if not (run.waits or must_wait):
        for creation in held:
            creation.result = vm_result(creation.vm, creation.name, "pending", False, snapshot=creation.existing)
        return
    timeout = run.module.waiter.timeout
    fresh = wait_until_idle(run.client, api_snapshots.READ, [c.existing["id"] for c in held], timeout, raise_on_timeout=False)
    for creation in held:
        snapshot = fresh.get(creation.existing["id"])
        if snapshot is None:
            creation.existing = None
        elif busy(snapshot):
            creation.result = vm_result(creation.vm, creation.name, "timed_out", False, snapshot=snapshot, error={
                "code": None, "message": "snapshot %s (id %s) is still %s after wait_timeout=%ss: a task of an earlier run has not "
                                         "finished" % (snapshot.get("name"), snapshot["id"], snapshot.get("entityAsyncStatus"), timeout)})
        else:
            creation.existing = snapshot


def record_creation_results(run, creations):
    for creation in creations:
        if creation.result is not None:
            pass
        elif creation.existing is not None:
            creation.result = vm_result(creation.vm, creation.name, "exists", False, snapshot=creation.existing)
        else:
            creation.result = vm_result(creation.vm, creation.name, "would_create", True, consistent_type=creation.consistent_type)
        run.results.append(creation.result)
        if creation.result["snapshot"]:
            run.snapshots.append(creation.result["snapshot"])


def plan_present(run):
    """A Creation per selected VM: from the snapshots alone when they all exist, else from the resolved VMs."""
    read_first = SnapshotsReadFirst.read(run.client, run.params)
    creations = read_first.creations_if_all_exist() if read_first else None
    if creations is not None:
        return creations
    vms = select_vms(run.client, run.params)
    if not vms:
        run.module.warn("The VM selection matched no VM: nothing to do")
        run.finish()
    return plan_creations(run.client, run.params, vms, read_first)


def ensure_present(run, policy):
    params = run.params
    creations = plan_present(run)
    settle_busy_existing(run, creations, must_wait=policy is not None)
    vms = [creation.vm for creation in creations]
    to_create = apply_consistency(run.module, [c for c in creations if c.result is None])
    pruning = Pruning(policy, params["retention_prefix"]) if policy else None
    owned = pruning.read_owned(run.client, vms) if pruning else {}
    deletions_by_vm = {}
    for creation in creations:
        vm_id = creation.vm["id"]
        new_name = creation.name if creation.existing is None else None
        chosen = pruning.decide(creation.vm, owned.get(vm_id, []), run.now, new_name) if pruning else []
        deletions_by_vm[vm_id] = [deletion_entry(s, reason, "would_delete") for s, reason in chosen]
        before = {s["name"] for s in owned.get(vm_id, [])} | ({creation.name} if creation.existing else set())
        run.record_diff(creation.vm, before, (before | {creation.name}) - {e["name"] for e in deletions_by_vm[vm_id]})
    any_deletion = any(deletions_by_vm.values())
    if to_create:
        step = run.plan.add(api_snapshots.CREATE, creation_body(to_create), "Create %d snapshot(s) in one request" % len(to_create))
        if not run.module.check_mode:
            # The VMs stay locked until their snapshots finish, so deletions wait for them even with wait: false.
            send_creations(run, step, to_create, must_wait=any_deletion)
    record_creation_results(run, creations)
    entries = []
    for result in run.results:
        for entry in deletions_by_vm.get(result["vm"]["id"], []):
            if result["status"] in ("failed", "timed_out"):
                entry["status"] = "skipped"
                entry["reason"] += "; not deleted because this VM's new snapshot failed"
                run.deleted.append(entry)
            else:
                entries.append(entry)
    send_deletions(run, entries)
    run.deleted.extend(entries)
    run.finish()


# ----- state=absent ---------------------------------------------------------------------------
def snapshot_by_id(run, vms):
    """The snapshot named by id, checked against the selected VM; None when it does not exist."""
    found = api_snapshots.by_ids(run.client, [run.params["id"]])
    snapshot = found[0] if found else None
    if snapshot and vms and vm_id_of(snapshot) not in {vm["id"] for vm in vms}:
        raise InputError("id", run.params["id"], "is a snapshot of %s, not of the selected VM(s)" % vm_label(snapshot.get("vm")))
    return snapshot


def named_deletions(run, vms):
    """[(vm, name, snapshot or None)] for state=absent: the snapshot of that name of each VM, if any."""
    params = run.params
    if params.get("id"):
        snapshot = snapshot_by_id(run, vms)
        vm = snapshot.get("vm") if snapshot else (vms[0] if len(vms) == 1 else None)
        return [(vm, snapshot["name"] if snapshot else None, snapshot)] if (snapshot or vm) else []
    if not params.get("name"):
        return []
    planned = [(vm, expand_name(params["name"], vm)) for vm in vms]
    found = find_snapshots(run.client, vm_ids=[vm["id"] for vm in vms], names=[name for _vm, name in planned])
    own = {(vm_id_of(s), s["name"]): s for s in found}
    return [(vm, name, own.get((vm["id"], name))) for vm, name in planned]


def ensure_absent(run, policy):
    params = run.params
    vms = select_vms(run.client, params) if (params.get("vm") or params.get("vms") or params.get("where") is not None) else []
    named = named_deletions(run, vms)
    pruning = Pruning(policy, params["retention_prefix"]) if policy else None
    owned = pruning.read_owned(run.client, vms) if pruning else {}
    entries = {}
    for vm, name, snapshot in named:
        if snapshot is not None:
            entries[snapshot["id"]] = deletion_entry(snapshot, "state=absent", "would_delete")
    for vm in vms if pruning else []:
        for snapshot, reason in pruning.decide(vm, owned.get(vm["id"], []), run.now):
            entries.setdefault(snapshot["id"], deletion_entry(snapshot, reason, "would_delete"))
    record_absent_diff(run, vms, named, owned, entries)
    send_deletions(run, list(entries.values()))
    run.deleted.extend(entries.values())
    for vm, name, snapshot in named:
        entry = entries.get(snapshot["id"]) if snapshot else None
        status = entry["status"] if entry else "absent"
        result = vm_result(vm, name, status, status not in ("absent", "failed"))
        if entry:
            result.update(task_id=entry["task_id"], error=entry["error"])
        run.results.append(result)
    run.finish()


def record_absent_diff(run, vms, named, owned, entries):
    vms_by_id = {vm["id"]: vm for vm in vms}
    for vm, _name, snapshot in named:
        if vm:
            vms_by_id.setdefault(vm["id"], vm)
    for vm_id, vm in vms_by_id.items():
        before = {s["name"] for s in owned.get(vm_id, [])}
        before |= {s["name"] for _v, _n, s in named if s and vm_id_of(s) == vm_id}
        gone = {e["name"] for e in entries.values() if (e.get("vm") or {}).get("id") == vm_id}
        run.record_diff(vm, before, before - gone)


# ----- state=reverted ---------------------------------------------------------------------------
def find_revert_target(run):
    """(vm, snapshot) for state=reverted, or an error naming the option."""
    params = run.params
    client = run.client
    vm = None
    if params.get("vm"):
        scope, text = resolve_cluster_scope(client, "cluster", params.get("cluster"))
        vm = VM.resolve(client, "vm", params["vm"], scope, text)
    if params.get("id"):
        snapshot = snapshot_by_id(run, [vm] if vm else [])
        if snapshot is None:
            raise NotFoundError("id", params["id"], "VM snapshot")
    else:
        name = expand_name(params["name"], vm)
        found = find_snapshots(client, vm_ids=[vm["id"]], names=[name])
        if not found:
            raise NotFoundError("name", name, "VM snapshot", "the snapshots of %s" % vm_label(vm))
        snapshot = found[0]
    if vm is None:
        if not snapshot.get("vm"):
            raise InputError("id", params["id"], "is a snapshot of a VM that no longer exists: rebuild a new VM from it with "
                                                 "smartx.cloudtower.cloudtower_vm from_snapshot instead")
        vm = VM.resolve(client, "id", vm_id_of(snapshot))
    return vm, snapshot


def plan_revert(run, vm, snapshot):
    status = vm.get("status")
    if status in STOPPABLE:
        if not run.params["stop_vm"]:
            raise InputError("stop_vm", False, "VM %s is %s and CloudTower can only roll back a stopped VM: set stop_vm: true "
                                               "(and force: true to power it off rather than shut it down)" % (vm_label(vm), status))
        if run.params["force"] or status == "SUSPENDED":
            run.plan.add(api_vms.POWEROFF, api_vms.on_vm(vm["id"]), "Power off %s before the rollback" % vm_label(vm))
        else:
            run.plan.add(api_vms.SHUTDOWN, api_vms.on_vm(vm["id"]),
                         "Shut down %s gracefully before the rollback (a guest that does not shut down fails this step; "
                         "force: true powers it off instead)" % vm_label(vm))
    elif status != "STOPPED":
        raise InputError("vm", run.params.get("vm") or vm["id"], "VM %s is %s; it must be STOPPED (or RUNNING or SUSPENDED with "
                                                                 "stop_vm: true) to be rolled back" % (vm_label(vm), status))
    run.plan.add(api_vms.ROLLBACK, api_vms.rollback_body(vm["id"], snapshot["id"]),
                 "Roll %s back to snapshot %r (id %s)" % (vm_label(vm), snapshot["name"], snapshot["id"]))


def ensure_reverted(run):
    vm, snapshot = find_revert_target(run)
    plan_revert(run, vm, snapshot)
    # The executor sends the stop (if any) and the rollback, each on an idle VM, and leaves the VM idle (so that
    # the next task on it, a start say, is not refused as locked); in check mode it sends nothing.
    executor = Executor(run.module, api_vms)
    try:
        after_vm = executor.run(run.plan, vm) or vm
    finally:
        run.tasks.extend(executor.tasks)
    rollback = run.plan.steps[-1]
    status = "would_revert" if run.module.check_mode else ("reverted" if run.waits else "pending")
    result = vm_result(vm, snapshot["name"], status, True, snapshot=snapshot, task_id=(rollback.task_ids or [None])[0])
    run.results.append(result)
    run.snapshots.append(snapshot)
    run.diff_before = {"vm": vm_label(vm), "status": vm.get("status"), "rolled_back_to": None}
    run.diff_after = {"vm": vm_label(vm), "status": "STOPPED", "rolled_back_to": {"id": snapshot["id"], "name": snapshot["name"]}}
    run.finish(vm=after_vm)


def run_module(module):
    policy = validate_options(module.params)
    run = Run(module)
    state = module.params["state"]
    if state == "present":
        ensure_present(run, policy)
    elif state == "absent":
        ensure_absent(run, policy)
    else:
        ensure_reverted(run)
