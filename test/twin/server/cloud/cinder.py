"""Fake Cinder (volume v3): volumes creating -> available, attaching -> in-use (through Nova's
os-volume_attachments), detaching -> available, deleting -> gone; extend while available. Validation as
Cinder does it: unknown volume types and zones (404/400), deleting or attaching a volume in the wrong
state (400), a size that does not grow (400)."""

import time

from .web import HttpError, iso

VOLUME_TYPE = "OS::Cinder::Volume"


def bad_request(message):
    return HttpError(400, {"badRequest": {"code": 400, "message": message}})


def not_found(message):
    return HttpError(404, {"itemNotFound": {"code": 404, "message": message}})


class Cinder(object):
    service_type = "volumev3"

    def __init__(self, cloud):
        self.cloud = cloud
        self.volumes = {}
        self.types = {t["name"]: t for t in cloud.catalogue.get("volumeTypes", [{"name": "__DEFAULT__"}])}
        self.zones = list(cloud.catalogue.get("volumeAvailabilityZones", ["nova"]))

    def inventory(self):
        return {VOLUME_TYPE: sorted(self.volumes)}

    def register(self, r):
        p = "/volume/v3/(?P<project>[^/]+)"
        r.add("GET", "/volume", lambda req: (300, {"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.70",
                                                                  "min_version": "3.0", "links": []}]}))
        r.add("GET", p + "/extensions", lambda req: (200, {"extensions": []}))
        r.add("GET", p + "/types", self.list_types)
        r.add("GET", p + "/os-availability-zone", self.list_zones)
        r.add("POST", p + "/volumes", self.create)
        r.add("GET", p + "/volumes", self.list)
        r.add("GET", p + "/volumes/detail", self.list)
        r.add("GET", p + "/volumes/(?P<id>[^/]+)", self.show)
        r.add("PUT", p + "/volumes/(?P<id>[^/]+)", self.update)
        r.add("DELETE", p + "/volumes/(?P<id>[^/]+)", self.delete)
        r.add("POST", p + "/volumes/(?P<id>[^/]+)/action", self.action)
        r.add("GET", p + "/volumes/(?P<id>[^/]+)/metadata", lambda req: (200, {"metadata": self._get(req.params["id"])["metadata"]}))

    def _get(self, vid):
        v = self.volumes.get(vid)
        if v is None:
            raise not_found("Volume %s could not be found." % vid)
        return v

    def _body(self, v):
        return {"id": v["id"], "name": v["name"], "status": v["status"], "size": v["size"], "volume_type": v["type"],
                "availability_zone": v["az"], "bootable": "true" if v["image"] else "false", "description": v["description"],
                "attachments": [{"server_id": v["server"], "attachment_id": v["id"], "volume_id": v["id"], "id": v["id"],
                                 "device": "/dev/vdb", "host_name": None, "attached_at": iso()}] if v["server"] else [],
                "metadata": dict(v["metadata"]), "created_at": iso(v["created"]), "updated_at": iso(),
                "multiattach": False, "encrypted": False, "snapshot_id": None, "source_volid": None,
                "user_id": "admin", "os-vol-tenant-attr:tenant_id": "admin", "replication_status": None,
                "consistencygroup_id": None, "links": []}

    def list_types(self, req):
        self.cloud.require_token(req)
        return 200, {"volume_types": [{"id": n, "name": n, "is_public": True, "extra_specs": {}} for n in self.types]}

    def list_zones(self, req):
        self.cloud.require_token(req)
        return 200, {"availabilityZoneInfo": [{"zoneName": z, "zoneState": {"available": True}} for z in self.zones]}

    def create(self, req):
        self.cloud.require_token(req)
        spec = (req.json or {}).get("volume") or {}
        start = time.time()
        size = spec.get("size")
        if not isinstance(size, int) or size < 1:
            raise bad_request("Invalid input received: Volume size '%s' must be an integer and greater than 0." % size)
        vtype = spec.get("volume_type") or "__DEFAULT__"
        if vtype not in self.types:
            raise not_found("Volume type with name %s could not be found." % vtype)
        az = spec.get("availability_zone") or self.zones[0]
        if az not in self.zones:
            raise bad_request("Invalid input received: Availability zone '%s' is invalid." % az)
        image = spec.get("imageRef")
        if image and self.cloud.services["image"].by_id(image) is None:
            raise bad_request("Invalid image identifier or unable to access requested image.")
        v = {"id": self.cloud.new_id(), "name": spec.get("name") or "", "status": "creating", "size": size, "type": vtype,
             "az": az, "image": image, "description": spec.get("description"), "metadata": dict(spec.get("metadata") or {}),
             "server": None, "created": time.time()}
        self.volumes[v["id"]] = v

        def ready():
            if v["id"] in self.volumes and v["status"] == "creating":
                v["status"] = "available"
                self.cloud.record_simple(VOLUME_TYPE, v["id"], "create", start, name=v["name"], size=size)

        self.cloud.scheduler.at(self.cloud.delay("volume"), ready)
        return 202, {"volume": self._body(v)}

    def list(self, req):
        self.cloud.require_token(req)
        return 200, {"volumes": [self._body(v) for v in self.volumes.values()]}

    def show(self, req):
        self.cloud.require_token(req)
        return 200, {"volume": self._body(self._get(req.params["id"]))}

    def update(self, req):
        self.cloud.require_token(req)
        v = self._get(req.params["id"])
        spec = (req.json or {}).get("volume") or {}
        changed = {}
        for k in ("name", "description", "metadata"):
            if k in spec and spec[k] != v[k]:
                changed[k] = {"from": v[k], "to": spec[k]}
                v[k] = spec[k]
        if changed:
            self.cloud.record_simple(VOLUME_TYPE, v["id"], "update", changed=changed, name=v["name"])
        return 200, {"volume": self._body(v)}

    def delete(self, req):
        self.cloud.require_token(req)
        v = self._get(req.params["id"])
        if v["status"] not in ("available", "error", "error_restoring", "error_extending"):
            raise bad_request("Invalid volume: Volume status must be available or error or error_restoring or "
                              "error_extending or error_managing and must not be migrating, attached, belong to a group, "
                              "have snapshots or be disassociated from snapshots after volume transfer.")
        start = time.time()
        v["status"] = "deleting"
        self.cloud.paths.remember(v["id"])

        def gone():
            if self.volumes.pop(v["id"], None) is not None:
                self.cloud.record_simple(VOLUME_TYPE, v["id"], "delete", start, name=v["name"])

        self.cloud.scheduler.at(self.cloud.delay("volume"), gone)
        return 202, None

    def action(self, req):
        self.cloud.require_token(req)
        v = self._get(req.params["id"])
        body = req.json or {}
        if "os-extend" in body:
            new = int(body["os-extend"].get("new_size", 0))
            if v["status"] != "available":
                raise bad_request("Invalid volume: Volume %s status must be available to extend, but current status is: "
                                  "%s." % (v["id"], v["status"]))
            if new <= v["size"]:
                raise bad_request("Invalid input received: New size for extend must be greater than current size. "
                                  "(current: %d, extended: %d)." % (v["size"], new))
            start, old = time.time(), v["size"]
            v["size"] = new
            self.cloud.record_simple(VOLUME_TYPE, v["id"], "update", start, name=v["name"],
                                     changed={"size": {"from": old, "to": new}})
            return 202, None
        if "os-set_bootable" in body or "os-update_readonly_flag" in body:
            return 200, None
        raise bad_request("The volume action %s is not supported by the twin's Cinder." % list(body))

    # ---- used by Nova ---------------------------------------------------------------------------

    def require_available(self, vid):
        v = self.volumes.get(vid)
        if v is None:
            raise bad_request("Invalid volume: Volume %s could not be found." % vid)
        if v["status"] != "available":
            raise bad_request("Invalid volume: volume %s status must be 'available'. Currently in '%s'" % (vid, v["status"]))
        return v

    def attach(self, vid, server):
        v = self.require_available(vid)
        start = time.time()
        v.update(status="attaching", server=server["id"])

        def done():
            if v["id"] in self.volumes and v["status"] == "attaching":
                v["status"] = "in-use"
                self.cloud.record({"type": "OS::Cinder::VolumeAttachment", "physicalId": v["id"], "action": "attach-volume",
                                   "start": start, "end": time.time(), "server": server["id"], "name": server["name"]})

        self.cloud.scheduler.at(self.cloud.delay("volume"), done)

    def detach(self, vid, server):
        v = self._get(vid)
        start = time.time()
        v["status"] = "detaching"
        self.cloud.paths.remember(v["id"])

        def done():
            if v["id"] in self.volumes and v["status"] == "detaching":
                v.update(status="available", server=None)
                self.cloud.record({"type": "OS::Cinder::VolumeAttachment", "physicalId": v["id"], "action": "detach-volume",
                                   "start": start, "end": time.time(), "server": server["id"], "name": server["name"]})

        self.cloud.scheduler.at(self.cloud.delay("volume"), done)

    def detached(self, vid):
        v = self.volumes.get(vid)
        if v is not None:
            v.update(status="available", server=None)
