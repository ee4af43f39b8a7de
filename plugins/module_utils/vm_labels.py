# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Labels of a VM: the key/value pairs a task declares against those the VM carries.

A label is matched on its key and value (a missing value and "" are the same). From API 4.6 a VM record shows its
labels' keys and values, so a run whose VM already carries every declared label (and, with purge_labels, no other)
reads nothing more; before 4.6 it shows only their ids and one get-labels resolves them. A declared label that no
label on CloudTower has is created (one create-label for all), the labels the VM lacks are attached in one
add-labels-to-resources, and with purge_labels the others are detached in one remove-labels-from-resources.
Two labels with the same key and value cannot be told apart: attaching such a pair is refused naming both ids.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import labels as api
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError


def label_suboptions():
    return dict(key=dict(type="str", required=True, no_log=False), value=dict(type="str"))


def pair_of(label):
    return (label.get("key"), label.get("value") or "")


def shown(pair):
    return {"key": pair[0], "value": pair[1]}


def declared_pairs(entries):
    """The (key, value) pairs of the labels option in order; blank keys and repeated pairs are refused."""
    pairs = []
    for position, entry in enumerate(entries):
        pair = (entry.get("key") or "", entry.get("value") or "")
        if not pair[0].strip():
            raise InputError("labels[%d].key" % position, entry.get("key"), "a label needs a non-blank key")
        if pair in pairs:
            raise InputError("labels[%d]" % position, "%s=%s" % pair, "this label is already listed at labels[%d]" % pairs.index(pair))
        pairs.append(pair)
    return pairs


class LabelStep:
    """One label request: the operation, its body as a function of the VM id, a sentence, and the field changes."""

    def __init__(self, operation, body, summary, changes=None):
        self.operation = operation
        self.body = body
        self.summary = summary
        self.changes = changes or {}


class LabelPlanner:
    """Plans the label requests of one VM (an existing one, or {} for a VM still to be created)."""

    def __init__(self, client, entries, purge, vm):
        self.client = client
        self.pairs = declared_pairs(entries)
        self.purge = purge
        self.vm = vm
        self.carried = list(vm.get("labels") or ())

    def plan(self, created_ids):
        """The LabelSteps; created_ids() -> the ids create-label answered (read when the attach is sent)."""
        records = self.carried if self.shows_pairs() else None
        if records is not None and not self.missing(records) and not self.extras(records):
            return []
        records = self.lookup()
        missing, extras = self.missing(records), self.extras(records)
        if not missing and not extras:
            return []
        to_create, to_attach = self.resolve(missing, records)
        steps = []
        name = self.vm.get("name") or "the new VM"
        if to_create:
            steps.append(LabelStep(api.CREATE, api.creation_body(to_create), "Create label(s) %s" % _text(to_create)))
        if missing:
            steps.append(LabelStep(api.ADD_TO_RESOURCES, lambda vm_id: api.vm_body(to_attach + created_ids(), vm_id),
                                   "Attach label(s) %s to VM %s" % (_text(missing), name)))
        if extras:
            steps.append(LabelStep(api.REMOVE_FROM_RESOURCES, api.vm_body([r["id"] for r in extras], self.vm["id"]),
                                   "Detach label(s) %s from VM %s" % (_text([pair_of(r) for r in extras]), name)))
        before = sorted(pair_of(r) for r in records if r["id"] in self.carried_ids())
        after = sorted(set(before) - {pair_of(r) for r in extras} | set(missing))
        steps[-1].changes = {"labels": {"before": [shown(p) for p in before], "after": [shown(p) for p in after]}}
        return steps

    def shows_pairs(self):
        return all("key" in label for label in self.carried)

    def carried_ids(self):
        return {label["id"] for label in self.carried}

    def missing(self, records):
        """The declared pairs no label the VM carries has."""
        carried = {pair_of(r) for r in records if r["id"] in self.carried_ids()}
        return [pair for pair in self.pairs if pair not in carried]

    def extras(self, records):
        """With purge_labels, the labels the VM carries that no declared pair names."""
        if not self.purge:
            return []
        return [r for r in records if r["id"] in self.carried_ids() and pair_of(r) not in self.pairs]

    def lookup(self):
        """The labels with a declared key and those the VM carries, in one get-labels."""
        keys = sorted({key for key, _value in self.pairs})
        ids = sorted(self.carried_ids())
        clauses = ([{"key_in": keys}] if keys else []) + ([{"id_in": ids}] if ids else [])
        if not clauses:
            return []
        return api.find(self.client, clauses[0] if len(clauses) == 1 else {"OR": clauses})

    def resolve(self, missing, records):
        """(pairs to create, ids of existing labels to attach) for the missing pairs; an ambiguous pair is refused."""
        to_create, to_attach = [], []
        for pair in missing:
            found = [r for r in records if pair_of(r) == pair]
            if len(found) > 1:
                error = InputError("labels[%d]" % self.pairs.index(pair), "%s=%s" % pair,
                                   "%d labels on CloudTower have this key and value (ids %s): attach one of them by hand or "
                                   "delete the duplicates" % (len(found), ", ".join(r["id"] for r in found)))
                error.details["candidates"] = sorted(r["id"] for r in found)
                raise error
            if found:
                to_attach.append(found[0]["id"])
            else:
                to_create.append(pair)
        return to_create, to_attach


def _text(pairs):
    return ", ".join("%s=%s" % pair if pair[1] else pair[0] for pair in pairs)
