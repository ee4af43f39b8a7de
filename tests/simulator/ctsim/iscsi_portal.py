"""A real iSCSI portal for the simulator's targets and LUNs, served by tgtd (Debian package `tgt`).

tgtd is a user-space SCSI target: no kernel module. The simulator runs its own instance as a child process,
listening on --iscsi-portal (loopback) with a private control port, and mirrors the API state into it: every
iSCSI target becomes a tgtd target with the same IQN, every LUN a logical unit with the same LUN number whose
backing store is the LUN's sparse file. The target's ip_whitelist / iqn_whitelist become tgtd's initiator
address / name ACLs, chap_name/chap_secret (and initiator_chaps) incoming CHAP accounts. Initiators - qemu-img
over libiscsi, iscsi-ls - then read exactly the bytes the API describes.

Never a system-wide tgtd: the control port is chosen free, and stop() ends only the process this object started.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

TGT_PACKAGE = "tgt"
ALL = ("", "*", "*/*", "all", "ALL")
SOCKET_DIR = "/var/run/tgtd"


class PortalError(RuntimeError):
    """The portal cannot run (tgtd missing, cannot bind, ...); the message is one line."""


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def parse_address(text):
    host, _colon, port = str(text).rpartition(":")
    if not host or not port.isdigit():
        raise PortalError("--iscsi-portal takes HOST:PORT (e.g. 127.0.0.1:3260 or 127.0.0.1:0 for a free port), not %r" % text)
    return host, int(port)


def whitelist(text):
    """A CloudTower whitelist ("*/*" = anyone, else comma-separated entries) -> list of entries, [] = anyone."""
    entries = [entry.strip() for entry in re.split(r"[,\s]+", text or "") if entry.strip()]
    return [] if not entries or any(entry in ALL for entry in entries) else entries


class TargetConfig:
    """What tgtd should show for one API target: IQN, ACLs, CHAP accounts and LUNs {number: path}."""

    def __init__(self, target, luns):
        self.iqn = target["iqn_name"]
        self.names = tuple(whitelist(target.get("iqn_whitelist")))
        addresses = whitelist(target.get("ip_whitelist"))
        # tgtd's "ALL" admits every initiator whatever its name; a CIDR covering every address keeps the name ACL.
        self.addresses = tuple(addresses) if addresses else (("0.0.0.0/0",) if self.names else ("ALL",))
        accounts = []
        if target.get("chap_enabled") and target.get("chap_name"):
            accounts.append((target["chap_name"], target.get("chap_secret") or ""))
            accounts += [(chap["chap_name"], chap["chap_secret"]) for chap in target.get("initiator_chaps") or ()]
        self.accounts = tuple(accounts)
        self.luns = luns


class IscsiPortal:
    def __init__(self, address, log_dir):
        self.host, self.port = parse_address(address)
        self.log_dir = log_dir
        self.control_port = None
        self.process = None
        self.exported = {}      # API target id -> (tid, TargetConfig)
        self.tids = {}          # API target id -> tgtd tid
        self.next_tid = 1
        self.synced_changes = None
        self.down = False

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    # ----- process --------------------------------------------------------------------------------------

    @staticmethod
    def check_tools():
        for tool in ("tgtd", "tgtadm"):
            if shutil.which(tool) is None:
                raise PortalError("--iscsi-portal needs %s: install the Debian package '%s' (apt-get install %s)" % (
                    tool, TGT_PACKAGE, TGT_PACKAGE))

    def start(self):
        self.check_tools()
        if self.port == 0:
            self.port = free_port(self.host)
        os.makedirs(self.log_dir, exist_ok=True)
        self.control_port = self._free_control_port()
        log = open(os.path.join(self.log_dir, "tgtd.log"), "ab")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            ["tgtd", "-f", "-C", str(self.control_port), "--iscsi", "portal=%s:%d" % (self.host, self.port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self._wait_until_ready()
        self.exported, self.tids, self.synced_changes, self.down = {}, {}, None, False

    def _free_control_port(self):
        # tgtd names its control socket /var/run/tgtd/socket.<port>; take a number no live tgtd holds.
        # tgtd refuses control ports above 32767.
        start = 10000 + os.getpid() % 20000
        for candidate in list(range(start, 32000)) + list(range(10000, start)):
            if not os.path.exists(os.path.join(SOCKET_DIR, "socket.%d" % candidate)):
                return candidate
        raise PortalError("no free tgtd control port")

    def _wait_until_ready(self, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise PortalError("tgtd exited at start (code %s): %s" % (self.process.returncode, self._last_log_line()))
            ready = subprocess.run(self._tgtadm_command("--mode", "sys", "--op", "show"), capture_output=True, check=False)
            if ready.returncode == 0 and self._listening():
                return
            time.sleep(0.05)
        self.stop()
        raise PortalError("tgtd did not come up on %s within %.0f s" % (self.address, timeout))

    def _last_log_line(self):
        try:
            with open(os.path.join(self.log_dir, "tgtd.log"), encoding="utf-8", errors="replace") as stream:
                lines = [line.strip() for line in stream if line.strip()]
        except OSError:
            return "no log"
        return lines[-1] if lines else "no output"

    def _listening(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self):
        if self.process is not None:
            if self.process.poll() is None:
                # tgtd ignores SIGTERM while it serves targets; SIGINT ends it.
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
            for suffix in ("", ".lock"):
                try:
                    os.unlink(os.path.join(SOCKET_DIR, "socket.%d%s" % (self.control_port, suffix)))
                except OSError:
                    pass
        self.exported = {}

    def set_down(self, down):
        """Portal fault: down = the address refuses connections (tgtd stopped); up again = restarted and re-synced."""
        if down and not self.down:
            self.stop()
            self.down = True
        elif not down and self.down:
            self.start()
            self.next_tid = 1

    # ----- tgtadm ----------------------------------------------------------------------------------------

    def _tgtadm_command(self, *args):
        return ["tgtadm", "-C", str(self.control_port), "--lld", "iscsi"] + [str(arg) for arg in args]

    def tgtadm(self, *args, check=True):
        result = subprocess.run(self._tgtadm_command(*args), capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise PortalError("tgtadm %s failed: %s" % (" ".join(str(arg) for arg in args), result.stderr.strip()))
        return result.stdout

    # ----- mirroring the API state ---------------------------------------------------------------------------

    def sync(self, store):
        """Make tgtd show exactly the store's targets and LUNs (cheap when nothing changed)."""
        if self.process is None or self.synced_changes == store.changes:
            return
        wanted = self._wanted(store)
        for target_id in [target_id for target_id in self.exported if target_id not in wanted]:
            tid, _config = self.exported.pop(target_id)
            self.tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", tid)
        for target_id, config in wanted.items():
            self._sync_target(target_id, config)
        self.synced_changes = store.changes

    @staticmethod
    def _wanted(store):
        wanted = {}
        for target in store.rows("iscsi_targets"):
            if target.get("entityAsyncStatus") == "CREATING":
                continue
            luns = {}
            for lun in store.children("iscsi_luns", "iscsi_target", target["id"]):
                if lun.get("entityAsyncStatus") != "CREATING":
                    # A rebuilt volume's LUN is exported while its bytes arrive, as it was exported empty before.
                    luns[lun["lun_id"]] = store.data.materialise("iscsi_luns", lun, wait_for_copy=False)
            wanted[target["id"]] = TargetConfig(target, luns)
        return wanted

    def _sync_target(self, target_id, config):
        tid, old = self.exported.get(target_id, (None, None))
        if old is not None and old.iqn != config.iqn:
            self.tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", tid)
            tid, old = None, None
        if tid is None:
            tid = self.next_tid
            self.next_tid += 1
            self.tgtadm("--mode", "target", "--op", "new", "--tid", tid, "--targetname", config.iqn)
            old = TargetConfig({"iqn_name": config.iqn, "ip_whitelist": "none"}, {})
            old.addresses = ()
        self._sync_acls(tid, old, config)
        self._sync_accounts(tid, old, config)
        self._sync_luns(tid, old, config)
        self.exported[target_id] = (tid, config)

    def _sync_acls(self, tid, old, new):
        for address in set(old.addresses) - set(new.addresses):
            self.tgtadm("--mode", "target", "--op", "unbind", "--tid", tid, "--initiator-address", address, check=False)
        for address in set(new.addresses) - set(old.addresses):
            self.tgtadm("--mode", "target", "--op", "bind", "--tid", tid, "--initiator-address", address)
        for name in set(old.names) - set(new.names):
            self.tgtadm("--mode", "target", "--op", "unbind", "--tid", tid, "--initiator-name", name, check=False)
        for name in set(new.names) - set(old.names):
            self.tgtadm("--mode", "target", "--op", "bind", "--tid", tid, "--initiator-name", name)

    def _sync_accounts(self, tid, old, new):
        for user, _secret in set(old.accounts) - set(new.accounts):
            self.tgtadm("--mode", "account", "--op", "unbind", "--tid", tid, "--user", user, check=False)
        for user, secret in set(new.accounts) - set(old.accounts):
            # Accounts are global in tgtd: (re)create it with this secret, then bind it to the target.
            self.tgtadm("--mode", "account", "--op", "delete", "--user", user, check=False)
            self.tgtadm("--mode", "account", "--op", "new", "--user", user, "--password", secret)
            self.tgtadm("--mode", "account", "--op", "bind", "--tid", tid, "--user", user)

    def _sync_luns(self, tid, old, new):
        for number, path in old.luns.items():
            if new.luns.get(number) != path:
                self.tgtadm("--mode", "logicalunit", "--op", "delete", "--tid", tid, "--lun", number, check=False)
        for number, path in new.luns.items():
            if old.luns.get(number) != path:
                self.tgtadm("--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", number, "--backing-store", path)
                # Thin provisioning lets initiators ask which blocks hold data (GET LBA STATUS), so reading a
                # mostly empty 500 GiB disk over iSCSI costs only its data.
                self.tgtadm("--mode", "logicalunit", "--op", "update", "--tid", tid, "--lun", number,
                            "--params", "thin_provisioning=1")

    # ----- sessions ---------------------------------------------------------------------------------------

    def sessions(self):
        """[(API target id, tid, sid, cid, initiator name, initiator ip)] of the live iSCSI connections."""
        if self.process is None:
            return []
        by_tid = {tid: target_id for target_id, (tid, _config) in self.exported.items()}
        found, tid, sid, initiator, cid = [], None, None, None, None
        for line in self.tgtadm("--mode", "target", "--op", "show", check=False).splitlines():
            text = line.strip()
            if text.startswith("Target ") and ":" in text:
                tid = int(text.split()[1].rstrip(":"))
            elif text.startswith("I_T nexus:"):
                sid = int(text.split(":")[1])
            elif text.startswith("Initiator:"):
                initiator = text.split()[1]
            elif text.startswith("Connection:"):
                cid = int(text.split(":")[1])
            elif text.startswith("IP Address:") and tid in by_tid:
                found.append((by_tid[tid], tid, sid, cid, initiator, text.split(":", 1)[1].strip()))
        return found

    def client_ports(self):
        """{remote ip: [remote ports]} of established TCP connections to the portal (from /proc/net/tcp)."""
        ports = {}
        try:
            with open("/proc/net/tcp", encoding="ascii") as stream:
                lines = stream.readlines()[1:]
        except OSError:
            return ports
        for line in lines:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state != "01" or int(local.split(":")[1], 16) != self.port:
                continue
            address, port = remote.split(":")
            ip = socket.inet_ntoa(bytes.fromhex(address)[::-1])
            ports.setdefault(ip, []).append(int(port, 16))
        return {ip: sorted(found) for ip, found in ports.items()}

    def drop_connection(self, tid, sid, cid):
        self.tgtadm("--mode", "conn", "--op", "delete", "--tid", tid, "--sid", sid, "--cid", cid, check=False)
