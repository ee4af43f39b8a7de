"""The simulator's data plane: where volume bytes live, and who serves them (iSCSI portal, export downloads).

One DataPlane lives as long as the Simulator; each state (reset) gets its own directory under the data directory,
removed when the state is replaced or the simulator stops. The API-only use never touches a file: volume content
is materialised on first access (volumes_data.py), the portal exists only with --iscsi-portal.
"""

import atexit
import base64
import itertools
import os
import shutil
import tempfile

import random
import threading
import time

from .dataplane_faults import DataPlaneFaults, SessionDropper
from .iscsi_portal import IscsiPortal
from .volumes_data import VolumeData

# Admin API names for the tables whose rows have bytes.
CONTENT_TABLES = ("iscsi_luns", "iscsi_lun_snapshots")
MAX_ADMIN_WRITE = 64 * 1024 * 1024


class DataPlane:
    def __init__(self, data_dir=None):
        self.owns_data_dir = data_dir is None
        self.data_dir = os.path.abspath(data_dir) if data_dir else tempfile.mkdtemp(prefix="ctsim-data-")
        os.makedirs(self.data_dir, exist_ok=True)
        self._state_numbers = itertools.count(1)
        self.portal = None
        self.connection_ids = {}
        self.fault_rng = random.Random("ctsim-dataplane-faults")
        self.faults = DataPlaneFaults({}, self.fault_rng)
        self.dropper = None
        # Called (with no arguments) to re-sync a restarted portal with the current state; set by the Simulator.
        self.resync = None
        self.portal_lock = threading.RLock()
        # Download requests of export links as served (GET /__sim/dataplane/downloads): what a resume asked for.
        self.downloads = []
        self.downloads_in_flight = 0
        self.downloads_changed = threading.Condition()
        atexit.register(self.close)

    def download_started(self):
        with self.downloads_changed:
            self.downloads_in_flight += 1

    def record_download(self, served):
        with self.downloads_changed:
            self.downloads.append(dict(served, seq=len(self.downloads) + 1, time=time.time()))
            self.downloads_in_flight -= 1
            self.downloads_changed.notify_all()

    def download_log(self, clear=False, settle_seconds=5.0):
        with self.downloads_changed:
            # A reply's last bytes reach the client a moment before its handler logs it: a reader that has its
            # whole download must find it in the log, so downloads still being served are waited for (bounded:
            # a stalled one is left out).
            self.downloads_changed.wait_for(lambda: self.downloads_in_flight == 0, timeout=settle_seconds)
            entries = list(self.downloads)
            if clear:
                self.downloads = []
            return entries

    def set_faults(self, spec):
        """Replace the data-plane fault spec (portal_down takes effect at once)."""
        faults = DataPlaneFaults(spec, self.fault_rng)
        self.faults = faults
        if self.portal is not None:
            with self.portal_lock:
                self.portal.set_down(faults.portal_down)
            if not faults.portal_down and self.resync is not None:
                self.resync()
            if faults.watches_sessions and self.dropper is None:
                self.dropper = SessionDropper(self)
            if self.dropper is not None:
                self.dropper.ignore_sessions(self.portal.sessions())
        elif faults.portal_down or faults.watches_sessions:
            raise ValueError("portal_down and iscsi_drops need a simulator started with an iSCSI portal")
        return faults.report()

    def hold_portal_down(self, seconds):
        """After a dropped session: refuse every connection for `seconds`, then come back with the same targets."""
        with self.portal_lock:
            self.portal.set_down(True)
        self.faults.record("portal_down", seconds=seconds)
        time.sleep(seconds)
        if not self.faults.portal_down:
            with self.portal_lock:
                if self.portal is None:
                    return  # the simulator stopped while the portal was held down
                self.portal.set_down(False)
            if self.resync is not None:
                self.resync()
            self.faults.record("portal_up")

    def start_portal(self, address):
        """Run tgtd on `address` (HOST:PORT); raises iscsi_portal.PortalError with one line when it cannot."""
        portal = IscsiPortal(address, os.path.join(self.data_dir, "portal-%d" % os.getpid()))
        portal.start()
        self.portal = portal
        return portal

    def sync(self, store):
        """Mirror the state's targets and LUNs into the portal (no-op without one)."""
        if self.portal is not None:
            with self.portal_lock:
                self.portal.sync(store)

    @staticmethod
    def _match_ports(sessions, sockets):
        """{(tid, sid, cid): client port}. tgtadm names the initiator's address but not its port, so the sockets
        of one address go to its sessions newest first (a session tgtd still lists after its socket closed is the
        oldest); exact when an address has one session."""
        matched = {}
        by_ip = {}
        for _target_id, tid, sid, cid, _initiator, ip in sessions:
            by_ip.setdefault(ip, []).append((tid, sid, cid))
        for ip, keys in by_ip.items():
            newest_first = sorted(keys, key=lambda key: key[1], reverse=True)
            for key, port in zip(newest_first, sorted(sockets.get(ip, ()), reverse=True)):
                matched[key] = port
        return matched

    def refresh_connections(self, store, now):
        """Rebuild the iscsi_connections table from the portal's live sessions (ids stay stable per session)."""
        live = []
        if self.portal is not None:
            sessions = self.portal.sessions()
            ports = self._match_ports(sessions, self.portal.client_ports())
            for target_id, tid, sid, cid, _initiator, ip in sessions:
                target = store.get("iscsi_targets", target_id)
                if target is None:
                    continue
                hosts = store.children("hosts", "cluster", target["cluster"])
                key = (tid, sid, cid)
                if key not in self.connection_ids:
                    self.connection_ids[key] = store.ids.cuid(now)
                live.append({"id": self.connection_ids[key], "client_port": ports.get(key, 0), "cluster": target["cluster"],
                             "host": hosts[0]["id"] if hosts else None, "initiator_ip": ip, "iscsi_target": target_id,
                             "nvmf_subsystem": None, "tr_type": "TCP", "type": "ISCSI"})
        current = {row["id"]: row for row in store.rows("iscsi_connections")}
        wanted = {row["id"]: row for row in live}
        for row_id in set(current) - set(wanted):
            store.delete("iscsi_connections", row_id)
        for row_id, row in wanted.items():
            if row_id not in current:
                store.insert("iscsi_connections", row, now)
            elif any(current[row_id].get(key) != value for key, value in row.items()):
                store.update("iscsi_connections", row_id, row, now)

    def new_state_root(self):
        """A fresh directory name for a new state's files (created on first use)."""
        return os.path.join(self.data_dir, "state-%d-%d" % (os.getpid(), next(self._state_numbers)))

    def new_volume_data(self):
        return VolumeData(self.new_state_root())

    @staticmethod
    def retire(state):
        """A replaced state's files go (the portal has already been re-synced to the new state)."""
        state.store.data.remove_all()

    def close(self):
        if self.dropper is not None:
            self.dropper.stop()
            self.dropper = None
        if self.portal is not None:
            self.portal.stop()
            self.portal = None
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        else:
            for name in os.listdir(self.data_dir) if os.path.isdir(self.data_dir) else ():
                if name.startswith("state-%d-" % os.getpid()):
                    shutil.rmtree(os.path.join(self.data_dir, name), ignore_errors=True)

    # ----- volume content for the admin API -----------------------------------------------------------------

    @staticmethod
    def content_entity(store, entity_id):
        """(table, row) holding the bytes named by a VM volume id, an iSCSI LUN id or a LUN snapshot id."""
        volume = store.get("vm_volumes", entity_id)
        if volume is not None:
            return "iscsi_luns", store.get("iscsi_luns", volume["lun"])
        for table in CONTENT_TABLES:
            row = store.get(table, entity_id)
            if row is not None:
                return table, row
        raise LookupError("no VM volume, iSCSI LUN or LUN snapshot with id %r" % entity_id)

    def write(self, store, entity_id, body):
        """Admin write: {"offset", "data": base64} or {"offset", "pattern": text, "length": n} (a guest writing)."""
        table, row = self.content_entity(store, entity_id)
        data = self._write_payload(body)
        written = store.data.write(table, row, body["offset"], data)
        store.changes += 1
        return {"id": entity_id, "table": table, "offset": body["offset"], "written": written}

    @staticmethod
    def _write_payload(body):
        if not isinstance(body, dict) or not isinstance(body.get("offset"), int) or isinstance(body.get("offset"), bool):
            raise ValueError("write takes {\"offset\": int, \"data\": base64} or {\"offset\", \"pattern\", \"length\"}")
        if "data" in body:
            try:
                data = base64.b64decode(body["data"], validate=True)
            except (TypeError, ValueError) as error:
                raise ValueError("data must be base64: %s" % error) from error
        elif isinstance(body.get("pattern"), str) and body["pattern"] and isinstance(body.get("length"), int):
            pattern = body["pattern"].encode("utf-8")
            data = (pattern * (body["length"] // len(pattern) + 1))[:body["length"]]
        else:
            raise ValueError("write needs data (base64) or pattern (text) with length")
        if len(data) > MAX_ADMIN_WRITE:
            raise ValueError("one write is at most %d bytes" % MAX_ADMIN_WRITE)
        return data

    def digest(self, store, entity_id):
        table, row = self.content_entity(store, entity_id)
        return {"id": entity_id, "table": table, "size": store.data.size_of(table, row), "algorithm": "ctsim-sparse-sha256",
                "digest": store.data.digest(table, row), "path": store.data.materialise(table, row)}

    def read(self, store, entity_id, offset, length):
        table, row = self.content_entity(store, entity_id)
        data = store.data.read(table, row, offset, min(length, MAX_ADMIN_WRITE))
        return {"id": entity_id, "table": table, "offset": offset, "length": len(data), "data": base64.b64encode(data).decode("ascii")}

    def info(self, state):
        return {"data_dir": self.data_dir, "state_dir": state.store.data.root,
                "allocated_bytes": state.store.data.disk_usage(),
                "iscsi_portal": self.portal.address if self.portal is not None else None}
