"""An example node model for the twin (options.nodeModel = "version_gate:VersionGate", with this directory
on pythonPath): a worker signals only once every master runs at least the Kubernetes version its own
metadata names (`hotk8s-kubernetes-version`): a master "runs" the version it last signalled SUCCESS
with. Other nodes, and workers without that key, signal as soon as they have booted."""


def _version(text):
    if not text:
        return None
    return tuple(int(p) for p in str(text).lstrip("v").split("."))


class VersionGate(object):
    def decide(self, node, event, nodes):
        if node["role"] != "worker":
            return {"status": "SUCCESS"}
        wanted = _version(node["metadata"].get("hotk8s-kubernetes-version"))
        if wanted is None:
            return {"status": "SUCCESS"}
        masters = [n for n in nodes() if n["role"] == "master" and n["status"] != "DELETED"]
        if all(m["version"] and _version(m["version"]) >= wanted for m in masters):
            return {"status": "SUCCESS", "reason": "%s: all %d masters at %s" % (node["name"], len(masters), ".".join(map(str, wanted)))}
        return None  # not yet: asked again after the nodePoll delay
