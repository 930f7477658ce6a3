"""The fake cloud process: Keystone, Nova, Neutron, Octavia, Cinder and Glance over HTTP on
127.0.0.1, the nodes (fake servers that signal Heat), the recorder, and the twin's own control
routes under /_twin.

Usage: python3 -m cloud.main STATE_DIR   (reads STATE_DIR/cloud-config.json, writes
STATE_DIR/cloud-ready.json with the port once it serves)
"""

import json
import os
import signal
import sys
import threading

from . import agent, cinder, glance, heatdb, keystone, neutron, nodes, nova, octavia
from .core import Cloud
from .web import HttpError, Router, Server


class Control(object):
    """The twin's own routes: health, the token body heat-api's noauth middleware uses, the recorded
    actions (with logical paths), nodes, and every fake resource still present."""

    def __init__(self, cloud):
        self.cloud = cloud

    def register(self, r):
        r.add("GET", "/_twin/health", lambda req: (200, {"ok": True, "pid": os.getpid()}))
        r.add("GET", "/_twin/noauth-token", self.noauth_token)
        r.add("GET", "/_twin/actions", self.actions)
        r.add("GET", "/_twin/nodes", self.nodes)
        r.add("GET", "/_twin/resources", self.resources)
        r.add("POST", "/_twin/expire-tokens", self.expire_tokens)

    def noauth_token(self, req):
        return 200, self.cloud.services["identity"].static_token_body(keystone.ADMIN, keystone.ADMIN)

    def actions(self, req):
        return 200, {"actions": self.cloud.paths.annotate(self.cloud.recorder.read())}

    def nodes(self, req):
        return 200, {"nodes": self.cloud.nodes.describe()}

    def expire_tokens(self, req):
        """Lets time pass for tokens: those of stack domain users (the tokens wait-condition handles carry), or
        with {"all": true} every token."""
        ks = self.cloud.services["identity"]
        everything = bool((req.json or {}).get("all"))
        n = 0
        for t in ks.tokens.values():
            user = ks.users.get(t["user"])
            stack_user = user and user["domain_id"] == self.cloud.credentials["stackDomainId"] and user["id"] != "heat-domain-admin"
            if everything or stack_user:
                t["expires"] = 0
                n += 1
        return 200, {"expired": n}

    def resources(self, req):
        out = {}
        for name, svc in sorted(self.cloud.services.items()):
            if hasattr(svc, "inventory"):
                for kind, items in svc.inventory().items():
                    out[kind] = items
        return 200, {"resources": out}


def main():
    state_dir = sys.argv[1]
    with open(os.path.join(state_dir, "cloud-config.json"), encoding="utf-8") as f:
        config = json.load(f)
    cloud = Cloud(config, state_dir)
    router = Router()
    cloud.paths = heatdb.LogicalPaths(cloud, config.get("heatDatabase"))
    cloud.nodes = nodes.Nodes(cloud)
    for svc in (keystone.Keystone(cloud), glance.Glance(cloud), nova.Nova(cloud), neutron.Neutron(cloud),
                octavia.Octavia(cloud), cinder.Cinder(cloud)):
        cloud.services[svc.service_type] = svc
        svc.register(router)
    Control(cloud).register(router)
    deployments = agent.DeploymentAgent(cloud, config.get("heatDatabase"))
    server = Server("127.0.0.1", int(config.get("port", 0)), router, cloud.lock, cloud.log)
    cloud.base_url = "http://127.0.0.1:%d" % server.port
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    ready = os.path.join(state_dir, "cloud-ready.json")
    with open(ready + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"port": server.port, "pid": os.getpid()}, f)
    os.rename(ready + ".tmp", ready)
    cloud.log("fake cloud serving on %s" % cloud.base_url)
    stop.wait()
    cloud.nodes.stop()
    deployments.stop()
    cloud.scheduler.stop()
    server.stop()
    cloud.recorder.close()


if __name__ == "__main__":
    try:
        main()
    except HttpError as ex:  # pragma: no cover
        sys.exit(str(ex))
