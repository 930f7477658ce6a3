"""The nodes: each fake server acts as the machine it would be.

When a server becomes ACTIVE after a create (a replacement included) or a rebuild, its node "boots":
after a delay it signals SUCCESS to the wait-condition handle it was given, by POSTing to the
endpoint found in its user-data (the `curl ... -X POST -H 'X-Auth-Token: ...' URL` that Heat's
curl_cli attribute put there), or, when its Nova metadata carries `hotk8s-signal-endpoint-<n>` and
`hotk8s-signal-token-<n>` (chunks, concatenated in the order of n), that endpoint and token (the
metadata wins, as on a real hotk8s node). When its metadata is updated in place and
`hotk8s-generation` changed, the node acts on it (it is out of service: a worker drains and
upgrades) and signals the metadata's handle. A resize reboots the node on the same disk: it is back
in service after the signal delay without signalling (cloud-init does not run again).

Control file (JSON, re-read whenever it changes):
  {"defaults": {"delay": 0.5},
   "nodes": {"k8s-default-1": {"status": "FAILURE", "phase": "kubeadm-join", "reason": "API not reachable"},
             "k8s-etcd-*": {"delay": 2},
             "k8s-master-2": {"status": "never", "on": ["rebuild"]}}}
  keys of "nodes" are server names or shell patterns (all matching entries apply, in file order);
  status SUCCESS (default) | FAILURE (reason "<name>: <phase>: <reason>") | never (no signal at all);
  "on" limits an entry to some events: create, rebuild, generation.

Node model (options.nodeModel "module:Class", the module on PYTHONPATH): an object with
  decide(node, event, nodes) -> None (not yet: asked again every `nodePoll` seconds) or a dict
                                {"status", "reason", "delay"} (any key may be left out)
  where node and every item of nodes() are dicts: id, name, role, metadata, inService, version (the
  `hotk8s-kubernetes-version` the node last signalled SUCCESS with), generation, status, event.
  The control file, when it names the node, wins over the model.

Console: each node keeps the text Nova's os-getConsoleOutput returns. Every boot (a create, a rebuild, a
resize's or a reboot's restart) starts with a new boot id and a kernel line; once the node is in service (its
SUCCESS signal accepted, or back after a resize or reboot) it prints the hotk8s health marker, as a hotk8s node's
hotk8s-health-marker does after its own health check:
  hotk8s-health role=<role> node=<name> member=<index> boot=<boot id> time=<epoch seconds> healthy
recorded as a `console-marker` action. A control entry with "marker": false (with "on" to limit it to some events)
withholds it, as a node whose health check never passes.

Tokens: a signal whose token the twin's Keystone does not know or has expired is not sent, and is
recorded as refused with 401 (heat-api here runs without token validation; with keystonemiddleware, as
on a cloud, Heat would answer 401).
"""

import email
import fnmatch
import importlib
import json
import os
import re
import threading
import time
import urllib.error
import uuid
import urllib.request

CURL_RX = re.compile(r"curl\s[^\n]*?-X\s+POST[^\n]*")
TOKEN_RX = re.compile(r"X-Auth-Token:\s*([^'\"\s]+)")
URL_RX = re.compile(r"(https?://[^\s'\")]+)")
SIGNAL_KEY_RX = re.compile(r"^hotk8s-signal-(endpoint|token)-(\d+)$")


def user_data_text(raw):
    """The text of every part of a (possibly multipart MIME) user-data."""
    if raw is None:
        return ""
    text = raw.decode("utf-8", "replace")
    if not text.lstrip().startswith("Content-Type:"):
        return text
    msg = email.message_from_string(text)
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload is not None:
            out.append(payload.decode("utf-8", "replace"))
    return "\n".join(out)


def signal_from_user_data(raw):
    text = user_data_text(raw)
    for line in CURL_RX.findall(text):
        token, url = TOKEN_RX.search(line), URL_RX.findall(line)
        if url:
            return {"endpoint": url[-1], "token": token.group(1) if token else None, "source": "user-data"}
    return None


def signal_from_metadata(md):
    chunks = {"endpoint": {}, "token": {}}
    for k, v in md.items():
        m = SIGNAL_KEY_RX.match(k)
        if m:
            chunks[m.group(1)][int(m.group(2))] = v
    if not chunks["endpoint"]:
        return None
    join = lambda d: "".join(d[i] for i in sorted(d))  # noqa: E731
    return {"endpoint": join(chunks["endpoint"]), "token": join(chunks["token"]) or None, "source": "metadata"}


class Control(object):
    def __init__(self, path):
        self.path = path
        self._mtime = None
        self._data = {}

    def data(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return {}
        key = (st.st_mtime_ns, st.st_size)
        if key != self._mtime:
            try:
                with open(self.path, encoding="utf-8") as f:
                    self._data = json.load(f) or {}
                self._mtime = key
            except ValueError:
                pass  # a half-written file: keep the previous settings until it is complete
        return self._data

    def settings(self, name, event):
        data = self.data()
        out = dict(data.get("defaults") or {})
        named = False
        for pattern, entry in (data.get("nodes") or {}).items():
            if fnmatch.fnmatchcase(name, pattern):
                if entry.get("on") and event not in entry["on"]:
                    continue
                out.update({k: v for k, v in entry.items() if k != "on"})
                named = True
        return out, named


class DefaultModel(object):
    """Every node signals SUCCESS once it has booted."""

    def decide(self, node, event, nodes):
        return {"status": "SUCCESS"}


class Nodes(object):
    def __init__(self, cloud):
        self.cloud = cloud
        self.control = Control(cloud.config.get("controlFile") or os.path.join(cloud.state_dir, "control.json"))
        self.model = DefaultModel()
        spec = cloud.config.get("nodeModel")
        if spec:
            module, _, cls = spec.partition(":")
            self.model = getattr(importlib.import_module(module), cls or "NodeModel")()
        self.nodes = {}  # server id -> node
        self.token_check = cloud.config.get("tokenCheck", True)
        self._stopped = False

    # ---- views ----------------------------------------------------------------------------------

    def _view(self, n):
        s = self.cloud.services["compute"].servers.get(n["id"])
        md = dict(s["metadata"]) if s else dict(n["metadata"])
        return {"id": n["id"], "name": n["name"], "role": md.get("hotk8s-role"), "metadata": md,
                "inService": n["inService"], "version": n["version"], "generation": md.get("hotk8s-generation"),
                "status": s["status"] if s else "DELETED", "event": n["event"], "everInService": n["everInService"]}

    def describe(self):
        return [self._view(n) for n in self.nodes.values()]

    def all(self):
        return self.describe()

    def _node(self, s):
        n = self.nodes.get(s["id"])
        if n is None:
            n = {"id": s["id"], "name": s["name"], "metadata": dict(s["metadata"]), "inService": False,
                 "everInService": False, "version": None, "epoch": 0, "event": None, "target": None,
                 "console": [], "bootId": None}
            self.nodes[s["id"]] = n
        return n

    # ---- events from Nova -----------------------------------------------------------------------

    # ---- the console (Nova's console log) --------------------------------------------------------

    def _new_boot(self, n, why):
        n["bootId"] = str(uuid.uuid4())
        n["console"].append("[    0.000000] Linux version 6.1.0-twin (%s; boot %s)" % (why, n["bootId"]))

    def console(self, sid):
        n = self.nodes.get(sid)
        return "".join(line + "\n" for line in n["console"]) if n else ""

    def _marker(self, s, event):
        """The health marker, once the node is in service after this boot (unless the control file withholds it)."""
        n = self._node(s)
        role = s["metadata"].get("hotk8s-role")
        if role not in ("etcd", "master"):
            return  # workers have no health marker (bootstrap: etcd and master scripts only)
        settings, _ = self.control.settings(s["name"], event)
        if settings.get("marker", True) is False:
            self._record(s, "node-silent", time.time(), event=event, what="health marker withheld")
            return
        now = time.time()
        line = "hotk8s-health role=%s node=%s member=%s boot=%s time=%d healthy" % (
            role, s["name"], s["name"].rsplit("-", 1)[-1], n["bootId"], int(now))
        n["console"].append(line)
        self._record(s, "console-marker", now, event=event, bootId=n["bootId"])

    def boot(self, s, event):
        n = self._node(s)
        n["epoch"] += 1
        n["event"] = event
        self._new_boot(n, event)
        target = signal_from_metadata(s["metadata"]) or signal_from_user_data(s["user_data"])
        self._plan(s["id"], n["epoch"], event, target)

    def stop_node(self, s, why):
        n = self._node(s)
        n["epoch"] += 1  # anything scheduled for the old state is void
        n["inService"] = False
        n["event"] = why

    def reboot(self, s):
        n = self._node(s)
        n["epoch"] += 1
        epoch = n["epoch"]
        was = n["everInService"]
        self._new_boot(n, "reboot")

        def back():
            if self._current(s["id"], epoch) and was:
                n["inService"] = True
                self._record(s, "node-ready", time.time(), reason="rebooted")
                self._marker(s, "reboot")

        self.cloud.scheduler.at(self._delay(s["name"], "reboot"), back)

    def metadata_changed(self, s, old):
        n = self._node(s)
        if old.get("hotk8s-generation") == s["metadata"].get("hotk8s-generation"):
            return
        if s["status"] != "ACTIVE":
            return  # a node being built or rebuilt reads its metadata when it boots
        n["epoch"] += 1
        n["event"] = "generation"
        if n["inService"]:
            n["inService"] = False
            self._record(s, "node-upgrade", time.time(), generation=s["metadata"].get("hotk8s-generation"))
        self._plan(s["id"], n["epoch"], "generation", signal_from_metadata(s["metadata"]))

    def port_detached(self, s, port_id):
        n = self._node(s)
        n["inService"] = False

    def port_attached(self, s, port_id):
        pass  # a node with a port back is in service after its next signal

    # ---- signalling -----------------------------------------------------------------------------

    def _current(self, sid, epoch):
        n = self.nodes.get(sid)
        return n is not None and n["epoch"] == epoch and not self._stopped

    def _delay(self, name, event):
        settings, _ = self.control.settings(name, event)
        return float(settings.get("delay", self.cloud.delay("nodeSignal")))

    def _plan(self, sid, epoch, event, target):
        """Decide (now or later) what the node sends for this event, then send it after its delay."""
        if not self._current(sid, epoch):
            return
        s = self.cloud.services["compute"].servers.get(sid)
        if s is None:
            return
        n = self.nodes[sid]
        settings, named = self.control.settings(s["name"], event)
        decision = {"status": "SUCCESS"}
        if not named or "status" not in settings:
            decision = self.model.decide(self._view(n), event, self.all)
            if decision is None:
                self.cloud.scheduler.at(self.cloud.delay("nodePoll"), self._plan, sid, epoch, event, target)
                return
        decision = dict(decision)
        for k in ("status", "reason", "phase", "delay"):
            if k in settings:
                decision[k] = settings[k]
        status = str(decision.get("status", "SUCCESS")).upper()
        if status == "NEVER":
            self._record(s, "node-silent", time.time(), event=event)
            return
        delay = float(decision.get("delay", settings.get("delay", self.cloud.delay("nodeSignal"))))
        if status == "FAILURE":
            reason = "%s: %s: %s" % (s["name"], decision.get("phase", "bootstrap"), decision.get("reason", "injected failure"))
        else:
            reason = decision.get("reason") or "%s: %s bootstrap complete (twin)" % (s["name"], s["metadata"].get("hotk8s-role", "node"))
        body = {"status": status, "reason": reason, "data": "twin:%s" % event}
        self.cloud.scheduler.at(delay, self._send, sid, epoch, event, target, body)

    def _send(self, sid, epoch, event, target, body):
        if not self._current(sid, epoch):
            return
        s = self.cloud.services["compute"].servers.get(sid)
        if s is None:
            return
        if target is None:
            self._record(s, "signal", time.time(), status=body["status"], accepted=False, httpStatus=None, event=event,
                         error="no signal endpoint in the user-data or the metadata")
            return
        start = time.time()
        if self.token_check and target.get("token") and self.cloud.services["identity"].token(target["token"]) is None:
            self._record(s, "signal", start, status=body["status"], reason=body["reason"], accepted=False, httpStatus=401,
                         event=event, source=target["source"], error="token unknown to Keystone or expired")
            return
        version = s["metadata"].get("hotk8s-kubernetes-version")
        threading.Thread(target=self._post, args=(sid, epoch, event, target, body, start, version, dict(s)),
                         name="signal-" + s["name"], daemon=True).start()

    def _post(self, sid, epoch, event, target, body, start, version, snapshot):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if target.get("token"):
            headers["X-Auth-Token"] = target["token"]
        req = urllib.request.Request(target["endpoint"], data=json.dumps(body).encode("utf-8"), headers=headers,
                                     method="POST")
        code, error = None, None
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                code = resp.status
                resp.read()
        except urllib.error.HTTPError as ex:
            code = ex.code
            error = ex.read().decode("utf-8", "replace")[:500]
        except Exception as ex:  # connection refused, timeout
            error = str(ex)
        accepted = code is not None and 200 <= code < 300
        with self.cloud.lock:
            n = self.nodes.get(sid)
            marker = accepted and body["status"] == "SUCCESS" and n is not None and n["epoch"] == epoch
            if marker:
                n["inService"] = True
                n["everInService"] = True
                n["version"] = version
            self._record(snapshot, "signal", start, status=body["status"], reason=body["reason"], accepted=accepted,
                         httpStatus=code, event=event, source=target["source"], **({"error": error} if error else {}))
            s = self.cloud.services["compute"].servers.get(sid)
            if marker and s is not None:
                self._marker(s, event)

    def _record(self, s, action, start, **extra):
        entry = {"type": "OS::Nova::Server", "physicalId": s["id"], "name": s["name"], "action": action, "start": start,
                 "end": time.time()}
        role = (s.get("metadata") or {}).get("hotk8s-role")
        if role:
            entry["role"] = role
        entry.update(extra)
        self.cloud.record(entry)

    def stop(self):
        self._stopped = True
