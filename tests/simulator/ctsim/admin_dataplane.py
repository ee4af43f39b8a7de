"""Admin routes of the data plane (/__sim/volumes/..., /__sim/dataplane/...): guest writes, digests, data faults."""

import json
from urllib.parse import parse_qs, urlsplit

DATAPLANE_ADMIN_PREFIXES = ("volumes/", "dataplane")


class DataPlaneAdmin:
    def __init__(self, handler, simulator):
        self.handler = handler
        self.simulator = simulator

    def dispatch(self, route, raw):
        method, parts = self.handler.command, route.strip("/").split("/")
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            action = self._action(method, parts)
            if action is None:
                self.handler.send_json(404, {"error": "no admin route %s /__sim/%s" % (method, route)})
                return
            self.handler.send_json(200, action(body))
        except LookupError as error:
            self.handler.send_json(404, {"error": str(error).strip("'\"")})
        except ValueError as error:
            self.handler.send_json(400, {"error": str(error)})

    def _action(self, method, parts):
        if parts[0] == "volumes" and len(parts) == 3:
            volume_id, verb = parts[1], parts[2]
            actions = {("POST", "write"): lambda body: self.simulator.write_volume(volume_id, body),
                       ("GET", "digest"): lambda _body: self.simulator.volume_digest(volume_id),
                       ("GET", "read"): lambda _body: self._read(volume_id)}
            return actions.get((method, verb))
        if parts == ["dataplane", "faults"]:
            return {"POST": self.simulator.set_dataplane_faults, "GET": lambda _body: self.simulator.dataplane_faults()}.get(method)
        if parts == ["dataplane", "downloads"]:
            return {"GET": lambda _body: self.simulator.dataplane_downloads(),
                    "DELETE": lambda _body: self.simulator.dataplane_downloads(clear=True)}.get(method)
        if parts[:2] == ["dataplane", "export-files"] and len(parts) == 3 and method == "DELETE":
            # Export files expire on a real CloudTower; this makes one go now (its links stop working).
            return lambda _body: self.simulator.delete_export_file(parts[2])
        if parts == ["dataplane"] and method == "GET":
            return lambda _body: self.simulator.info()["dataplane"]
        return None

    def _read(self, volume_id):
        query = parse_qs(urlsplit(self.handler.path).query)
        try:
            offset = int((query.get("offset") or ["0"])[0])
            length = int((query.get("length") or ["512"])[0])
        except ValueError as error:
            raise ValueError("offset and length must be integers") from error
        return self.simulator.read_volume(volume_id, offset, length)
