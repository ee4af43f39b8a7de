"""In-memory state: tables of entities, reverse relation indexes, and identifier factories.

Entities are plain dicts keyed by API field names. A to-one relation holds the related entity's id; a to-many
relation that is the inverse of a to-one (Vm.vm_disks <- VmDisk.vm) is never stored but read from an index,
so the two sides cannot disagree. Keys starting with "_" are the simulator's private bookkeeping.
"""

import random
import string
import time

from .schema import RESOURCES

BASE36 = string.digits + string.ascii_lowercase


def table_of(target):
    """The table of a relation target, or None for resources the simulator does not model (labels, ...):
    relations to those are never stored, so they serialise as null / [] and filters on them match nothing."""
    resource = RESOURCES.get(target)
    return resource.table if resource is not None else None


def iso_timestamp(seconds):
    """CloudTower's timestamp format: millisecond precision, always .000Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(seconds)))


# Two base-36 digits per lookup: building 10,000 VMs makes ~70,000 cuids, so this is the hot path.
BASE36_PAIRS = [high + low for high in BASE36 for low in BASE36]


def _base36_4(number):
    """Four base-36 digits (the number wraps modulo 36**4, like a cuid counter)."""
    high, low = divmod(number % 1679616, 1296)
    return BASE36_PAIRS[high] + BASE36_PAIRS[low]


def _base36_8(number):
    high, low = divmod(number % 2821109907456, 1679616)
    return _base36_4(high) + _base36_4(low)


class IdFactory:
    """cuid-shaped ids (25 chars) that sort in creation order, plus UUIDs and MACs; all seeded."""

    def __init__(self, rng):
        self.rng = rng
        self.counter = 0
        self.last_millis = 0
        self.fingerprint = _base36_4(rng.getrandbits(20))

    def cuid(self, now):
        # A cuid starts with its creation time; forcing it to grow keeps id order == creation order.
        self.last_millis = max(int(now * 1000), self.last_millis + 1)
        self.counter = (self.counter + 1) % (36 ** 4)
        return "c" + _base36_8(self.last_millis) + _base36_4(self.counter) + self.fingerprint + _base36_8(self.rng.getrandbits(41))

    def uuid(self):
        """A random (version 4) UUID string, formatted directly because uuid.UUID is slow in bulk."""
        value = self.rng.getrandbits(128)
        value = (value & ~(0xc000 << 48)) | (0x8000 << 48)
        value = (value & ~(0xf000 << 64)) | (4 << 76)
        digits = "%032x" % value
        return "%s-%s-%s-%s-%s" % (digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:])

    def mac(self):
        return "52:54:00:%02x:%02x:%02x" % tuple(self.rng.getrandbits(8) for _octet in range(3))


class Store:
    """All tables plus the indexes that answer "children of X" in creation order."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.ids = IdFactory(self.rng)
        self.tables = {resource.table: {} for resource in RESOURCES.values()}
        self.indexes = {}
        self.indexes_of_table = {table: [] for table in self.tables}
        self.sequence = 0
        # Bumped by every insert/update/delete, so observers (the iSCSI portal) can tell whether to look again.
        self.changes = 0
        # The bytes of LUNs and LUN snapshots (volumes_data.VolumeData), set by the simulator state.
        self.data = None
        for resource in RESOURCES.values():
            for field in resource.fields:
                if field.kind == "many" and field.inverse:
                    index = self.indexes[(table_of(field.target), field.inverse)] = {}
                    self.indexes_of_table[table_of(field.target)].append((field.inverse, index))

    def insert(self, table, entity, now):
        self.sequence += 1
        self.changes += 1
        entity["_seq"] = self.sequence
        entity["_updated"] = now
        self.tables[table][entity["id"]] = entity
        for fk, index in self.indexes_of_table[table]:
            if entity.get(fk):
                index.setdefault(entity[fk], {})[entity["id"]] = None
        return entity

    def update(self, table, entity_id, changes, now):
        entity = self.tables[table][entity_id]
        self.changes += 1
        for fk, index in self.indexes_of_table[table]:
            if fk in changes and changes[fk] != entity.get(fk):
                self._unindex(index, entity.get(fk), entity_id)
                if changes[fk]:
                    index.setdefault(changes[fk], {})[entity_id] = None
        entity.update(changes)
        entity["_updated"] = now
        return entity

    def delete(self, table, entity_id):
        entity = self.tables[table].pop(entity_id, None)
        if entity is None:
            return None
        self.changes += 1
        for fk, index in self.indexes_of_table[table]:
            self._unindex(index, entity.get(fk), entity_id)
        return entity

    @staticmethod
    def _unindex(index, parent_id, child_id):
        children = index.get(parent_id)
        if children is not None:
            children.pop(child_id, None)
            if not children:
                del index[parent_id]

    def get(self, table, entity_id):
        return self.tables[table].get(entity_id) if entity_id is not None else None

    def rows(self, table):
        return self.tables[table].values()

    def table(self, table):
        """The live {id: entity} mapping of a table, for lookups in hot loops."""
        return self.tables[table]

    def children(self, table, fk, parent_id):
        """Entities of `table` whose `fk` is parent_id, oldest first."""
        child_ids = self.indexes[(table, fk)].get(parent_id, ())
        rows = self.tables[table]
        found = [rows[child_id] for child_id in child_ids if child_id in rows]
        found.sort(key=lambda entity: entity["_seq"])
        return found

    def related(self, field, entity):
        """The rows a to-many field of an entity relates to, oldest first: through the inverse to-one index,
        the target rows' id lists (Vm.labels), or the entity's own id list (Label.vms); [] when not modelled."""
        table = table_of(field.target)
        if table is None:
            return []
        if field.inverse:
            return self.children(table, field.inverse, entity["id"])
        rows = self.tables[table]
        if field.held_by:
            found = [row for row in rows.values() if entity["id"] in row.get(field.held_by, ())]
        elif field.stored_ids:
            found = [rows[row_id] for row_id in entity.get(field.name) or () if row_id in rows]
        else:
            return []
        found.sort(key=lambda row: row["_seq"])
        return found

    def counts(self):
        return {table: len(rows) for table, rows in self.tables.items()}
