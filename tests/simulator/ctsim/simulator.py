"""The Simulator: one API version's state plus the HTTP server, the request log, faults and settings.

The state behind the API (SimState) is rebuilt by reset(); building it for thousands of VMs takes a moment,
so it happens in the background right after the server starts and the first request waits for it.
"""

import os
import random
import threading
import time

from . import settings as settings_module
from .dataplane import DataPlane
from .demo import DemoBuilder
from .entities import EntityFactory
from .faults import Faults
from .operations import Mutations
from .recorder import RequestLog
from .schema import RESOURCES, RESOURCES_BY_TABLE
from .serialize import Serializer
from .server import make_server
from .store import Store
from .tasks import TaskEngine
from .versions import DEFAULT_VERSION, Features, normalise
from .auth import Sessions

STATES = ("demo", "empty")
PATCHABLE_KINDS = ("str", "dt", "num", "bool", "enum", "json", "list")


class SimState:
    """Everything a reset replaces: version, data, tasks, faults and settings."""

    def __init__(self, version, state_name, vms, seed, settings, username, volume_data):
        self.version = version
        self.features = Features(version)
        self.seed = seed
        self.settings = settings
        self.store = Store(seed)
        self.store.data = volume_data
        self.factory = EntityFactory(self.store, version)
        builder = DemoBuilder(self.store, username, version)
        builder.build(state_name, vms)
        self.users = builder.users
        self.fault_rng = random.Random("%s-faults" % seed)
        self.faults = Faults({}, self.fault_rng, time.time(), self.features.paused_task_status)
        self.engine = TaskEngine(self.store, self)
        self.serializer = Serializer(self.store, version)
        # Where download links point (the simulator's own listener); set by the Simulator.
        self.base_url = None
        self.dataplane = None
        self.mutations = Mutations(self)

    def user_id(self, source):
        return (self.users.get(source) or self.users["LOCAL"])["id"]

    def set_faults(self, spec, now):
        self.faults = Faults(spec, self.fault_rng, now, self.features.paused_task_status)


class Simulator:
    """A CloudTower API simulator; start() serves it on a background thread."""

    def __init__(self, username="admin", password=None, state="demo", vms=None, task_seconds=1.0,
                 api_version=DEFAULT_VERSION, seed=0, tls=False, cert=None, key=None, host="127.0.0.1", port=0,
                 record=None, settings=None, faults=None, data_dir=None, iscsi_portal=None):
        if state not in STATES:
            raise ValueError("state must be one of %s" % ", ".join(STATES))
        if vms is not None and (not isinstance(vms, int) or vms < 0):
            raise ValueError("vms must be a non-negative integer")
        self.username = username
        self.password = password if password is not None else os.environ.get("CLOUDTOWER_SIM_PASSWORD", "simulator")
        self.host, self.port = host, port
        self.tls, self.cert, self.key = tls, cert, key
        self.lock = threading.RLock()
        self.sessions = Sessions(self.username, self.password)
        self.log = RequestLog(record)
        # Refuse bad settings and fault specs now rather than in the background build.
        settings_module.merge(settings_module.defaults(task_seconds), settings or {})
        Faults(faults or {}, random.Random(), 0.0, Features(normalise(api_version)).paused_task_status)
        self.initial = {"state": state, "vms": vms, "api_version": normalise(api_version), "task_seconds": float(task_seconds),
                        "seed": seed, "settings": settings or {}, "faults": faults or {}}
        self.current_config = dict(self.initial)
        self.dataplane = DataPlane(data_dir)
        self.dataplane.resync = self._resync_portal
        self.iscsi_portal = iscsi_portal
        self._state = None
        self._state_ready = threading.Event()
        self.server = None
        self._thread = None

    # ----- life cycle -----------------------------------------------------------------------------------

    def start(self):
        """Bind, serve on a daemon thread, and build the state in the background. Returns self."""
        if self.iscsi_portal:
            self.dataplane.start_portal(self.iscsi_portal)
        self.server = make_server(self)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="ctsim-http", daemon=True)
        self._thread.start()
        threading.Thread(target=self.state_now, name="ctsim-build", daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        self.dataplane.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)

    # ----- state ----------------------------------------------------------------------------------------

    def state_now(self):
        """The current SimState, built on first use."""
        with self.lock:
            if self._state is None:
                self._state = self._build(self.current_config)
                self._state_ready.set()
                self.dataplane.sync(self._state.store)
            return self._state

    def _build(self, config):
        settings = settings_module.merge(settings_module.defaults(config["task_seconds"]), config["settings"])
        state = SimState(config["api_version"], config["state"], config["vms"], config["seed"], settings, self.username,
                         self.dataplane.new_volume_data())
        state.base_url = self.url if self.server is not None else None
        state.dataplane = self.dataplane
        if config["faults"]:
            state.set_faults(config["faults"], time.time())
        return state

    def reset(self, state=None, api_version=None, vms=None, task_seconds=None, settings=None, seed=None, faults=None):
        """Rebuild everything; unspecified values fall back to what the simulator was started with."""
        if settings is not None and not isinstance(settings, dict):
            raise ValueError("settings must be an object")
        config = dict(self.initial)
        overrides = {"state": state, "api_version": api_version, "vms": vms, "task_seconds": task_seconds,
                     "settings": settings, "seed": seed, "faults": faults}
        config.update({key: value for key, value in overrides.items() if value is not None})
        # Settings given to reset refine the start-up settings rather than replace them all.
        config["settings"] = dict(self.initial["settings"], **(settings or {}))
        if config["state"] not in STATES:
            raise ValueError("state must be one of %s" % ", ".join(STATES))
        config["api_version"] = normalise(config["api_version"])
        if config["vms"] is not None and (not isinstance(config["vms"], int) or config["vms"] < 0):
            raise ValueError("vms must be a non-negative integer")
        new_state = self._build(config)
        with self.lock:
            old_state, self._state = self._state, new_state
            self._state_ready.set()
            self.current_config = config
            self.log.clear()
            self.dataplane.download_log(clear=True, settle_seconds=0)
            if self.dataplane.faults.spec:
                self.dataplane.set_faults({})
            self.dataplane.sync(new_state.store)
            if old_state is not None:
                self.dataplane.retire(old_state)
        return self.info()

    def info(self):
        state = self.state_now()
        return {"api_version": state.version, "state": self.current_config["state"], "seed": state.seed,
                "url": self.url if self.server else None, "counts": state.store.counts(), "settings": state.settings,
                "dataplane": self.dataplane.info(state)}

    # ----- admin operations (also served under /__sim/) ---------------------------------------------------

    def set_faults(self, spec):
        with self.lock:
            self.state_now().set_faults(spec, time.time())
        return self.faults()

    def faults(self):
        return self.state_now().faults.spec

    def set_settings(self, changes):
        with self.lock:
            state = self.state_now()
            state.settings = settings_module.merge(state.settings, changes)
            return state.settings

    def settings(self):
        return self.state_now().settings

    def requests(self, clear=False):
        return self.log.take() if clear else self.log.snapshot()

    def clear_requests(self):
        self.log.clear()

    def state(self, resource=None):
        """All resources in the API shape of the current version (or one table), plus counts."""
        with self.lock:
            state = self.state_now()
            state.engine.advance(time.time())
            tables = [resource] if resource else [res.table for res in RESOURCES.values() if res.exists_in(state.version)]
            unknown = [table for table in tables if table not in RESOURCES_BY_TABLE]
            if unknown:
                raise ValueError("unknown resource %r (known: %s)" % (unknown[0], ", ".join(sorted(RESOURCES_BY_TABLE))))
            result = {"api_version": state.version, "counts": state.store.counts()}
            for table in tables:
                name = RESOURCES_BY_TABLE[table].name
                result[table] = state.serializer.serialize_all(name, sorted(state.store.rows(table), key=lambda row: row["_seq"]))
            return result

    def patch(self, resource, entity_id, changes):
        """Set scalar fields of one entity directly (e.g. a VM's vm_tools_status) for a test."""
        with self.lock:
            state = self.state_now()
            declared = RESOURCES_BY_TABLE.get(resource)
            entity = state.store.get(resource, entity_id) if declared else None
            if entity is None:
                raise ValueError("no %s with id %r" % (resource, entity_id))
            if not isinstance(changes, dict):
                raise ValueError("set must be an object")
            for name in changes:
                field = declared.field(name, state.version)
                if field is None or field.kind not in PATCHABLE_KINDS or name == "id":
                    raise ValueError("%s.%s cannot be patched (scalar fields of this version only)" % (resource, name))
                if not field.accepts(changes[name], state.version):
                    raise ValueError("%r is not a valid value for %s.%s" % (changes[name], resource, name))
            changes = dict(changes)
            if resource == "vms" and "vm_tools_status" in changes:
                changes["_tools_installed"] = changes["vm_tools_status"] != "NOT_INSTALLED"
            state.store.update(resource, entity_id, changes, time.time())
            return state.serializer.serialize(declared.name, entity)

    # ----- data plane (also served under /__sim/volumes/) ----------------------------------------------------

    def write_volume(self, entity_id, body):
        with self.lock:
            state = self.state_now()
            state.engine.advance(time.time())
            return self.dataplane.write(state.store, entity_id, body)

    def volume_digest(self, entity_id):
        with self.lock:
            state = self.state_now()
            state.engine.advance(time.time())
            return self.dataplane.digest(state.store, entity_id)

    def read_volume(self, entity_id, offset, length):
        with self.lock:
            return self.dataplane.read(self.state_now().store, entity_id, offset, length)

    def _resync_portal(self):
        with self.lock:
            self.dataplane.sync(self.state_now().store)

    def delete_export_file(self, export_id):
        with self.lock:
            state = self.state_now()
            if state.store.get("vm_export_files", export_id) is None:
                raise LookupError("no export file with id %r" % export_id)
            state.mutations.exports.remove(export_id)
            return {"deleted": export_id}

    def set_dataplane_faults(self, spec):
        return self.dataplane.set_faults(spec)

    def dataplane_faults(self):
        return self.dataplane.faults.report()

    def dataplane_downloads(self, clear=False):
        """The download requests of export links since the last reset (or clear): method, path (never the secret),
        range (the Range header or None), status, bytes_sent, dropped (a fault cut the reply), seq, time."""
        return self.dataplane.download_log(clear)

    def before_call(self, state, endpoint, now):
        """Hook of the API exchange (under the lock): live data the call may read."""
        if endpoint.startswith("get-iscsi-connections"):
            self.dataplane.refresh_connections(state.store, now)

    def after_call(self, state):
        """Hook of the API exchange (under the lock): serve what the call changed (targets, LUNs) on the portal."""
        self.dataplane.sync(state.store)
