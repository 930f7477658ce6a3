"""The fake cloud's shared parts: configuration, the lock every request runs under, a scheduler for
delayed state changes (BUILD -> ACTIVE, PENDING_* -> ACTIVE, node signals), the service catalogue,
and the recorder of cloud actions."""

import heapq
import itertools
import json
import os
import threading
import time
import traceback
import uuid

from .web import HttpError

CATALOGUE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "catalogue.json")


def load_catalogue(extra_path=None):
    """The fake catalogue (catalogue.json beside this package), extended by a test's own JSON file: its
    lists are appended, an item with the name (or id) of a default one replaces it."""
    with open(CATALOGUE, encoding="utf-8") as f:
        data = json.load(f)
    if extra_path:
        with open(extra_path, encoding="utf-8") as f:
            extra = json.load(f)
        for key, items in extra.items():
            if isinstance(items, list) and isinstance(data.get(key), list):
                def ident(x):
                    return x.get("name", x.get("id")) if isinstance(x, dict) else x
                names = {ident(x) for x in items}
                data[key] = [x for x in data[key] if ident(x) not in names] + items
            else:
                data[key] = items
    return data


class Scheduler(object):
    """Runs callbacks at a later time on one thread, each under the cloud lock."""

    def __init__(self, lock, log):
        self._lock = lock
        self._log = log
        self._heap = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def at(self, delay, fn, *args):
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), fn, args))
            self._cv.notify()

    def stop(self):
        with self._cv:
            self._stopped = True
            self._cv.notify()

    def _run(self):
        while True:
            with self._cv:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cv.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stopped:
                    return
                _, _, fn, args = heapq.heappop(self._heap)
            try:
                with self._lock:
                    fn(*args)
            except Exception:
                self._log("scheduled callback %s failed:\n%s" % (getattr(fn, "__name__", fn), traceback.format_exc()))


class Recorder(object):
    """Cloud actions as JSON lines (actions.jsonl): one line per finished action, with its start and
    end time (seconds since the epoch), the Heat resource type that makes such a cloud resource, the
    physical id, and what happened. Logical paths are added when the actions are read (heatdb)."""

    def __init__(self, path):
        self.path = path
        self._seq = itertools.count(1)
        self._file = open(path, "a", encoding="utf-8")
        self._wlock = threading.Lock()

    def write(self, entry):
        entry = dict(entry)
        entry["seq"] = next(self._seq)
        with self._wlock:
            self._file.write(json.dumps(entry, sort_keys=True) + "\n")
            self._file.flush()
        return entry

    def read(self):
        with self._wlock:
            self._file.flush()
        out = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
        return out

    def close(self):
        self._file.close()


class Cloud(object):
    def __init__(self, config, state_dir):
        self.config = config
        self.state_dir = state_dir
        self.credentials = config["credentials"]
        self.region = config.get("region", "RegionOne")
        self.lock = threading.RLock()
        self.base_url = None  # set when the server is bound
        self.heat_url = config.get("heatUrl")  # http://127.0.0.1:PORT/v1/%(tenant_id)s
        self._log = open(os.path.join(state_dir, "cloud.log"), "a", encoding="utf-8")
        self._loglock = threading.Lock()
        self.scheduler = Scheduler(self.lock, self.log)
        self.recorder = Recorder(os.path.join(state_dir, "actions.jsonl"))
        self.delays = dict(DEFAULT_DELAYS, **(config.get("delays") or {}))
        self.services = {}
        self.catalogue = load_catalogue(config.get("catalogue"))

    def require_token(self, req):
        """The caller's live token (as every OpenStack service checks it through keystonemiddleware), or 401."""
        keystone = self.services["identity"]
        t = keystone.token(req.token) if req.token else None
        if t is None:
            raise HttpError(401, {"error": {"code": 401, "title": "Unauthorized",
                                            "message": "The request you have made requires authentication."}})
        return t

    def log(self, message):
        with self._loglock:
            self._log.write("%.3f %s\n" % (time.time(), message))
            self._log.flush()

    def delay(self, name):
        return float(self.delays.get(name, 0))

    @staticmethod
    def new_id():
        return str(uuid.uuid4())

    def catalog(self, project_id):
        base = self.base_url
        heat = (self.heat_url or "") % {"tenant_id": project_id or ""}
        entries = [
            ("identity", "keystone", base + "/identity"),
            ("compute", "nova", base + "/compute/v2.1"),
            ("network", "neutron", base + "/networking"),
            ("load-balancer", "octavia", base + "/load-balancer"),
            ("volumev3", "cinderv3", base + "/volume/v3/%s" % (project_id or "")),
            ("block-storage", "cinder", base + "/volume/v3/%s" % (project_id or "")),
            ("image", "glance", base + "/image"),
        ]
        if self.heat_url:
            entries.append(("orchestration", "heat", heat))
        out = []
        for stype, name, url in entries:
            out.append({
                "id": uuid.uuid5(uuid.NAMESPACE_URL, stype).hex, "type": stype, "name": name,
                "endpoints": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, stype + iface).hex, "interface": iface,
                               "region": self.region, "region_id": self.region, "url": url}
                              for iface in ("public", "internal", "admin")],
            })
        return out

    def record(self, entry):
        return self.recorder.write(entry)

    def record_simple(self, rtype, physical_id, action, start=None, **extra):
        now = time.time()
        entry = {"type": rtype, "physicalId": physical_id, "action": action, "start": start or now, "end": now}
        entry.update(extra)
        return self.record(entry)


# Small delays: long enough that Heat really polls each state machine, short enough to keep tests fast.
DEFAULT_DELAYS = {
    "serverBuild": 0.3,  # BUILD -> ACTIVE
    "serverRebuild": 0.3,  # REBUILD -> ACTIVE
    "serverResize": 0.3,  # RESIZE -> VERIFY_RESIZE
    "serverConfirm": 0.1,  # VERIFY_RESIZE -> ACTIVE
    "serverDelete": 0.2,  # ACTIVE -> gone
    "interface": 0.1,  # port attach/detach
    "octavia": 0.2,  # PENDING_CREATE/UPDATE/DELETE -> ACTIVE/gone
    "volume": 0.2,  # creating -> available, attaching -> in-use, ...
    "nodeSignal": 0.5,  # a node's boot until it signals
    "nodePoll": 0.2,  # how often a waiting node model is asked again
}
