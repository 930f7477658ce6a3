"""Fake Nova (compute v2.1, microversions up to 2.92, the newest python-novaclient 18 speaks).

State machines, with the delays of cloud/core.py:
  create          BUILD (spawning) -> ACTIVE, then the node boots and signals (cloud/nodes.py)
  rebuild         REBUILD (rebuilding) -> ACTIVE; the node boots again from its user-data
  resize          RESIZE (resize_prep .. resize_finish) -> VERIFY_RESIZE; confirmResize -> ACTIVE
  delete          task_state deleting -> gone; its ports are unbound (ports Nova made are deleted)
  os-interface    attach binds a free port at once; detach unbinds it after a short delay
Validation as Nova does it where Heat's behaviour depends on it: flavorRef, imageRef (a UUID of an
existing image: a rebuild given anything else fails with 400), key_name, availability_zone, server
group hints, user_data (base64, at most 65535 bytes encoded), metadata (keys and values at most 255
characters, at most 128 items), ports (must exist and be unbound: 409 when in use), and state
conflicts (409 when an action is not allowed in the server's state).
"""

import base64
import binascii
import re
import time
import uuid

from .web import HttpError, iso

MICROVERSION = "2.92"
UUID_RX = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
MAX_USER_DATA = 65535
MAX_METADATA_ITEMS = 128
SERVER_TYPE = "OS::Nova::Server"


def bad_request(message):
    return HttpError(400, {"badRequest": {"code": 400, "message": message}})


def not_found(message):
    return HttpError(404, {"itemNotFound": {"code": 404, "message": message}})


def conflict(message):
    return HttpError(409, {"conflictingRequest": {"code": 409, "message": message}})


def is_uuid(value):
    return isinstance(value, str) and bool(UUID_RX.match(value))


def invalid_uuid(field, value):
    shown = value if len(str(value)) <= 120 else str(value)[:117] + "..."
    return bad_request("Invalid input for field/attribute %s. Value: %s. '%s' is not a 'uuid'" % (field, shown, shown))


class Nova(object):
    service_type = "compute"

    def __init__(self, cloud):
        self.cloud = cloud
        self.flavors = {}
        for f in cloud.catalogue.get("flavors", []):
            self.flavors[str(f["id"])] = {"id": str(f["id"]), "name": f["name"], "vcpus": int(f.get("vcpus", 1)),
                                          "ram": int(f.get("ram", 2048)), "disk": int(f.get("disk", 20)),
                                          "ephemeral": int(f.get("ephemeral", 0)), "swap": f.get("swap", "")}
        self.keypairs = {k["name"]: k for k in cloud.catalogue.get("keypairs", [])}
        self.zones = list(cloud.catalogue.get("availabilityZones", ["nova"]))
        self.servers = {}
        self.groups = {}

    # ---- helpers shared with the other services ---------------------------------------------------

    def server(self, server_id):
        s = self.servers.get(server_id)
        if s is None:
            raise not_found("Instance %s could not be found." % server_id)
        return s

    def record(self, s, action, start, **extra):
        entry = {"type": SERVER_TYPE, "physicalId": s["id"], "name": s["name"], "action": action, "start": start,
                 "end": time.time()}
        role = s["metadata"].get("hotk8s-role")
        if role:
            entry["role"] = role
        entry.update(extra)
        return self.cloud.record(entry)

    def inventory(self):
        return {"OS::Nova::Server": sorted(self.servers), "OS::Nova::ServerGroup": sorted(self.groups)}

    # ---- routes ---------------------------------------------------------------------------------

    def register(self, r):
        p = "/compute/v2.1"
        r.add("GET", "/compute", self.versions)
        r.add("GET", p, self.version)
        r.add("GET", p + "/flavors", self.list_flavors)
        r.add("GET", p + "/flavors/detail", self.list_flavors)
        r.add("GET", p + "/flavors/(?P<id>[^/]+)", self.get_flavor)
        r.add("GET", p + "/flavors/(?P<id>[^/]+)/os-extra_specs", lambda req: (200, {"extra_specs": {}}))
        r.add("GET", p + "/os-keypairs/(?P<name>[^/]+)", self.get_keypair)
        r.add("GET", p + "/os-keypairs", self.list_keypairs)
        r.add("GET", p + "/os-availability-zone", self.list_zones)
        r.add("GET", p + "/limits", self.limits)
        r.add("POST", p + "/servers", self.create)
        r.add("GET", p + "/servers", self.list_servers)
        r.add("GET", p + "/servers/detail", self.list_servers)
        r.add("GET", p + "/servers/(?P<id>[^/]+)", self.show)
        r.add("PUT", p + "/servers/(?P<id>[^/]+)", self.update)
        r.add("DELETE", p + "/servers/(?P<id>[^/]+)", self.delete)
        r.add("POST", p + "/servers/(?P<id>[^/]+)/action", self.action)
        r.add("GET", p + "/servers/(?P<id>[^/]+)/metadata", self.get_metadata)
        r.add("POST", p + "/servers/(?P<id>[^/]+)/metadata", self.set_metadata)
        r.add("PUT", p + "/servers/(?P<id>[^/]+)/metadata", self.replace_metadata)
        r.add("PUT", p + "/servers/(?P<id>[^/]+)/metadata/(?P<key>[^/]+)", self.put_metadata_item)
        r.add("DELETE", p + "/servers/(?P<id>[^/]+)/metadata/(?P<key>[^/]+)", self.delete_metadata_item)
        r.add("GET", p + "/servers/(?P<id>[^/]+)/os-interface", self.list_interfaces)
        r.add("POST", p + "/servers/(?P<id>[^/]+)/os-interface", self.attach_interface)
        r.add("GET", p + "/servers/(?P<id>[^/]+)/os-interface/(?P<port>[^/]+)", self.get_interface)
        r.add("DELETE", p + "/servers/(?P<id>[^/]+)/os-interface/(?P<port>[^/]+)", self.detach_interface)
        r.add("GET", p + "/servers/(?P<id>[^/]+)/tags", self.get_tags)
        r.add("PUT", p + "/servers/(?P<id>[^/]+)/tags", self.set_tags)
        r.add("GET", p + "/servers/(?P<id>[^/]+)/os-volume_attachments", self.list_volume_attachments)
        r.add("POST", p + "/servers/(?P<id>[^/]+)/os-volume_attachments", self.attach_volume)
        r.add("GET", p + "/servers/(?P<id>[^/]+)/os-volume_attachments/(?P<vol>[^/]+)", self.get_volume_attachment)
        r.add("DELETE", p + "/servers/(?P<id>[^/]+)/os-volume_attachments/(?P<vol>[^/]+)", self.detach_volume)
        r.add("POST", p + "/os-server-groups", self.create_group)
        r.add("GET", p + "/os-server-groups", self.list_groups)
        r.add("GET", p + "/os-server-groups/(?P<id>[^/]+)", self.get_group)
        r.add("DELETE", p + "/os-server-groups/(?P<id>[^/]+)", self.delete_group)

    def _hdr(self):
        return {"OpenStack-API-Version": "compute " + MICROVERSION, "X-OpenStack-Nova-API-Version": MICROVERSION,
                "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}

    def _version_doc(self):
        return {"id": "v2.1", "status": "CURRENT", "version": MICROVERSION, "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": self.cloud.base_url + "/compute/v2.1/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.compute+json;version=2.1"}]}

    def versions(self, req):
        return 200, {"versions": [self._version_doc()]}

    def version(self, req):
        return 200, {"version": self._version_doc()}, self._hdr()

    # ---- catalogue ------------------------------------------------------------------------------

    def _flavor_body(self, f):
        return {"id": f["id"], "name": f["name"], "ram": f["ram"], "disk": f["disk"], "vcpus": f["vcpus"],
                "OS-FLV-EXT-DATA:ephemeral": f["ephemeral"], "swap": f["swap"], "rxtx_factor": 1.0,
                "os-flavor-access:is_public": True, "OS-FLV-DISABLED:disabled": False, "description": None,
                "extra_specs": {}, "links": [{"rel": "self", "href": self.cloud.base_url + "/compute/v2.1/flavors/" + f["id"]}]}

    def list_flavors(self, req):
        self.cloud.require_token(req)
        return 200, {"flavors": [self._flavor_body(f) for f in self.flavors.values()]}, self._hdr()

    def get_flavor(self, req):
        self.cloud.require_token(req)
        f = self.flavors.get(req.params["id"])
        if f is None:
            raise not_found("Flavor %s could not be found." % req.params["id"])
        return 200, {"flavor": self._flavor_body(f)}, self._hdr()

    def _keypair_body(self, k):
        return {"name": k["name"], "public_key": k.get("public_key", "ssh-ed25519 AAAA twin"), "type": "ssh",
                "fingerprint": k.get("fingerprint", "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"),
                "user_id": "admin", "created_at": iso(), "deleted": False, "deleted_at": None, "id": 1,
                "updated_at": None}

    def get_keypair(self, req):
        self.cloud.require_token(req)
        k = self.keypairs.get(req.params["name"])
        if k is None:
            raise not_found("Keypair %s not found for user admin" % req.params["name"])
        return 200, {"keypair": self._keypair_body(k)}, self._hdr()

    def list_keypairs(self, req):
        self.cloud.require_token(req)
        return 200, {"keypairs": [{"keypair": self._keypair_body(k)} for k in self.keypairs.values()]}, self._hdr()

    def list_zones(self, req):
        self.cloud.require_token(req)
        return 200, {"availabilityZoneInfo": [{"zoneName": z, "zoneState": {"available": True}, "hosts": None}
                                              for z in self.zones]}, self._hdr()

    def limits(self, req):
        self.cloud.require_token(req)
        absolute = {"maxServerMeta": MAX_METADATA_ITEMS, "maxPersonality": 5, "maxPersonalitySize": 10240,
                    "maxTotalInstances": 10000, "maxTotalCores": 100000, "maxTotalRAMSize": 100000000,
                    "maxTotalKeypairs": 100, "maxServerGroups": 100, "maxServerGroupMembers": 10000,
                    "totalInstancesUsed": len(self.servers), "totalCoresUsed": 0, "totalRAMUsed": 0,
                    "totalServerGroupsUsed": len(self.groups)}
        return 200, {"limits": {"absolute": absolute, "rate": []}}, self._hdr()

    # ---- servers --------------------------------------------------------------------------------

    def _check_metadata(self, md, field="metadata"):
        if not isinstance(md, dict):
            raise bad_request("Invalid input for field/attribute %s. Value: %s. %r is not of type 'object'" % (field, md, md))
        if len(md) > MAX_METADATA_ITEMS:
            raise HttpError(403, {"forbidden": {"code": 403, "message": "Quota exceeded for metadata_items: Requested "
                                                "%d, but already used 0 of 128 metadata_items" % len(md)}})
        for k, v in md.items():
            if not (1 <= len(k) <= 255):
                raise bad_request("Invalid input for field/attribute %s. Value: %s. metadata keys must be 1 to 255 "
                                  "characters" % (field, k))
            if not isinstance(v, str) or len(v) > 255:
                raise bad_request("Invalid input for field/attribute %s. Value: %s. metadata values must be strings of "
                                  "at most 255 characters (got %d)" % (field, k, len(str(v))))

    def create(self, req):
        token = self.cloud.require_token(req)
        body = req.json or {}
        spec = body.get("server")
        if not isinstance(spec, dict):
            raise bad_request("Invalid input for field/attribute server.")
        start = time.time()
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("Invalid input for field/attribute name. Value: %s." % name)
        flavor = self.flavors.get(str(spec.get("flavorRef")))
        if flavor is None:
            raise bad_request("Flavor %s could not be found." % spec.get("flavorRef"))
        bdm = spec.get("block_device_mapping_v2") or []
        boot_volume = next((b for b in bdm if str(b.get("boot_index", "")) == "0"), None)
        image_ref = spec.get("imageRef") or ""
        glance = self.cloud.services["image"]
        if image_ref:
            if not is_uuid(image_ref):
                raise invalid_uuid("imageRef", image_ref)
            if glance.by_id(image_ref) is None:
                raise bad_request("Image %s could not be found." % image_ref)
        elif boot_volume is None:
            raise bad_request("Block Device Mapping is Invalid: Boot sequence for the instance and image/block "
                              "device mapping combination is not valid.")
        for b in bdm:
            src = b.get("source_type")
            if src == "image" and glance.by_id(b.get("uuid")) is None:
                raise bad_request("Image %s could not be found." % b.get("uuid"))
            if src == "volume":
                self.cloud.services["volumev3"].require_available(b.get("uuid"))
        key_name = spec.get("key_name")
        if key_name is not None and key_name not in self.keypairs:
            raise bad_request("Invalid key_name provided.")
        az = spec.get("availability_zone") or self.zones[0]
        if az not in self.zones:
            raise bad_request("The requested availability zone is not available")
        user_data_b64 = spec.get("user_data")
        user_data = None
        if user_data_b64 is not None:
            if len(user_data_b64) > MAX_USER_DATA:
                raise bad_request("User data too large. User data must be no larger than 65535 bytes once base64 "
                                  "encoded. Your data is %d bytes" % len(user_data_b64))
            try:
                user_data = base64.b64decode(user_data_b64, validate=True)
            except (binascii.Error, ValueError):
                raise bad_request("Invalid input for field/attribute user_data. Value: %s. 'user_data' is not a "
                                  "'base64'" % user_data_b64[:60])
        metadata = spec.get("metadata") or {}
        self._check_metadata(metadata)
        hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
        group = None
        if hints.get("group"):
            group = self.groups.get(hints["group"])
            if group is None:
                raise bad_request("Invalid server group %s" % hints["group"])
        networks = spec.get("networks")
        neutron = self.cloud.services["network"]
        wanted = []
        if isinstance(networks, list):
            for n in networks:
                if n.get("port"):
                    port = neutron.port(n["port"])
                    if port is None:
                        raise not_found("Port id %s could not be found." % n["port"])
                    if port["device_id"]:
                        raise conflict("Port %s is still in use." % n["port"])
                    wanted.append(("port", port["id"]))
                elif n.get("uuid"):
                    if neutron.network(n["uuid"]) is None:
                        raise bad_request("Network %s could not be found." % n["uuid"])
                    wanted.append(("network", n["uuid"], n.get("fixed_ip")))
                else:
                    raise bad_request("Invalid input for field/attribute networks.")
        elif networks not in ("auto", "none"):
            raise bad_request("Invalid input for field/attribute networks. Value: %s. networks is required" % networks)
        sid = self.cloud.new_id()
        now = time.time()
        s = {
            "id": sid, "name": name, "status": "BUILD", "task_state": "scheduling", "vm_state": "building",
            "power_state": 0, "flavor": flavor, "image": image_ref, "key_name": key_name, "az": az,
            "metadata": dict(metadata), "user_data_b64": user_data_b64, "user_data": user_data,
            "created": now, "updated": now, "launched": None, "ports": [], "made_ports": [], "tags": [],
            "volumes": [], "bdm": bdm, "group": group["id"] if group else None, "config_drive": bool(spec.get("config_drive")),
            "fault": None, "host": "twin-compute-%d" % (len(self.servers) % 8), "project": token.get("project") or "admin",
            "user": token.get("user"), "description": spec.get("description"), "old_flavor": None,
            "instance_name": "instance-%08x" % (len(self.servers) + 1),
        }
        for w in wanted:
            if w[0] == "port":
                neutron.bind_port(w[1], sid, "compute:" + az)
                s["ports"].append(w[1])
            else:
                pid = neutron.create_port_for_server(w[1], w[2], sid, "compute:" + az)
                s["ports"].append(pid)
                s["made_ports"].append(pid)
        if group:
            group["members"].append(sid)
        self.servers[sid] = s
        s["task_state"] = "spawning"
        self.cloud.scheduler.at(self.cloud.delay("serverBuild"), self._built, sid, start)
        admin_pass = spec.get("adminPass") or uuid.uuid4().hex[:12]
        return 202, {"server": {"id": sid, "links": self._links(sid), "OS-DCF:diskConfig": "MANUAL",
                                "security_groups": [{"name": "default"}], "adminPass": admin_pass}}, self._hdr()

    def _built(self, sid, start):
        s = self.servers.get(sid)
        if s is None or s["status"] != "BUILD":
            return
        s.update(status="ACTIVE", task_state=None, vm_state="active", power_state=1, launched=time.time(),
                 updated=time.time())
        self.record(s, "create", start, flavor=s["flavor"]["name"], image=s["image"], ports=list(s["ports"]))
        self.cloud.nodes.boot(s, "create")

    def _links(self, sid):
        return [{"rel": "self", "href": self.cloud.base_url + "/compute/v2.1/servers/" + sid},
                {"rel": "bookmark", "href": self.cloud.base_url + "/compute/servers/" + sid}]

    def _addresses(self, s):
        neutron = self.cloud.services["network"]
        out = {}
        for pid in s["ports"]:
            port = neutron.port(pid)
            if port is None:
                continue
            net = neutron.network(port["network_id"])
            label = net["name"] if net else port["network_id"]
            for ip in port["fixed_ips"]:
                out.setdefault(label, []).append({"version": 6 if ":" in ip["ip_address"] else 4, "addr": ip["ip_address"],
                                                  "OS-EXT-IPS:type": "fixed",
                                                  "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
            for fip in neutron.floating_ips_of_port(pid):
                out.setdefault(label, []).append({"version": 4, "addr": fip["floating_ip_address"],
                                                  "OS-EXT-IPS:type": "floating",
                                                  "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
        return out

    def _body(self, s):
        f = s["flavor"]
        body = {
            "id": s["id"], "name": s["name"], "status": s["status"], "tenant_id": s["project"], "user_id": s["user"],
            "metadata": dict(s["metadata"]), "hostId": uuid.uuid5(uuid.NAMESPACE_DNS, s["host"]).hex,
            "image": {"id": s["image"], "links": []} if s["image"] else "",
            "flavor": {"vcpus": f["vcpus"], "ram": f["ram"], "disk": f["disk"], "ephemeral": f["ephemeral"],
                       "swap": 0, "original_name": f["name"], "extra_specs": {}},
            "created": iso(s["created"]), "updated": iso(s["updated"]), "addresses": self._addresses(s),
            "accessIPv4": "", "accessIPv6": "", "links": self._links(s["id"]), "OS-DCF:diskConfig": "MANUAL",
            "progress": 0 if s["status"] != "ACTIVE" else 100, "OS-EXT-AZ:availability_zone": s["az"],
            "config_drive": "True" if s["config_drive"] else "", "key_name": s["key_name"],
            "OS-SRV-USG:launched_at": iso(s["launched"]) if s["launched"] else None, "OS-SRV-USG:terminated_at": None,
            "security_groups": [{"name": "default"}], "OS-EXT-SRV-ATTR:host": s["host"],
            "OS-EXT-SRV-ATTR:instance_name": s["instance_name"], "OS-EXT-SRV-ATTR:hypervisor_hostname": s["host"],
            "OS-EXT-SRV-ATTR:user_data": s["user_data_b64"],
            "OS-EXT-STS:task_state": s["task_state"], "OS-EXT-STS:vm_state": s["vm_state"],
            "OS-EXT-STS:power_state": s["power_state"],
            "os-extended-volumes:volumes_attached": [{"id": v, "delete_on_termination": False} for v in s["volumes"]],
            "locked": False, "locked_reason": None, "description": s["description"], "tags": list(s["tags"]),
            "trusted_image_certificates": None, "host_status": "UP",
            "server_groups": [s["group"]] if s["group"] else [],
        }
        if s["fault"]:
            body["fault"] = s["fault"]
        return body

    def list_servers(self, req):
        self.cloud.require_token(req)
        name = req.arg("name")
        out = [self._body(s) for s in self.servers.values() if name is None or re.search(name, s["name"])]
        return 200, {"servers": out}, self._hdr()

    def show(self, req):
        self.cloud.require_token(req)
        return 200, {"server": self._body(self.server(req.params["id"]))}, self._hdr()

    def update(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        spec = (req.json or {}).get("server") or {}
        start = time.time()
        changed = {}
        for k in ("name", "description"):
            if k in spec and spec[k] != s.get(k):
                changed[k] = {"from": s.get(k), "to": spec[k]}
                s[k] = spec[k]
        s["updated"] = time.time()
        if changed:
            self.record(s, "update", start, changed=changed)
        return 200, {"server": self._body(s)}, self._hdr()

    def delete(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        if s["task_state"] == "deleting":
            return 204, None, self._hdr()
        start = time.time()
        self.cloud.paths.remember(s["id"])
        s.update(task_state="deleting")
        self.cloud.nodes.stop_node(s, "delete")
        self.cloud.scheduler.at(self.cloud.delay("serverDelete"), self._deleted, s["id"], start)
        return 204, None, self._hdr()

    def _deleted(self, sid, start):
        s = self.servers.pop(sid, None)
        if s is None:
            return
        neutron = self.cloud.services["network"]
        for pid in s["ports"]:
            if pid in s["made_ports"]:
                neutron.delete_port_internal(pid)
            else:
                neutron.unbind_port(pid)
        cinder = self.cloud.services["volumev3"]
        for vid in s["volumes"]:
            cinder.detached(vid)
        if s["group"] and s["group"] in self.groups:
            self.groups[s["group"]]["members"] = [m for m in self.groups[s["group"]]["members"] if m != sid]
        self.record(s, "delete", start)

    # ---- server actions -------------------------------------------------------------------------

    def action(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        body = req.json or {}
        if len(body) != 1:
            raise bad_request("There is either no action or more than one action in the request body.")
        name, arg = next(iter(body.items()))
        handler = {
            "rebuild": self._rebuild, "resize": self._resize, "confirmResize": self._confirm_resize,
            "revertResize": self._revert_resize, "forceDelete": self._force_delete, "changePassword": self._noop,
            "os-start": self._start, "os-stop": self._stop, "reboot": self._reboot,
            "os-getConsoleOutput": self._console_output,
        }.get(name)
        if handler is None:
            raise bad_request("The action %s is not supported by the twin's Nova." % name)
        return handler(s, arg or {})

    def _require_state(self, s, action, states=("ACTIVE", "SHUTOFF")):
        if s["status"] not in states or s["task_state"] is not None:
            raise conflict("Cannot '%s' instance %s while it is in vm_state %s, task_state %s" % (
                action, s["id"], s["vm_state"], s["task_state"]))

    def _rebuild(self, s, arg):
        image_ref = arg.get("imageRef")
        # Nova's request schema: imageRef is a UUID. Heat 19's user_data_update_policy REBUILD passes the
        # user-data here (see docs/design/day-2.md): Nova refuses it before touching the server.
        if not is_uuid(image_ref):
            raise invalid_uuid("imageRef", image_ref)
        if self.cloud.services["image"].by_id(image_ref) is None:
            raise bad_request("Image %s could not be found." % image_ref)
        self._require_state(s, "rebuild")
        if "metadata" in arg and arg["metadata"] is not None:
            self._check_metadata(arg["metadata"])
        start = time.time()
        old_image = s["image"]
        s.update(status="REBUILD", task_state="rebuilding", vm_state="active", image=image_ref, updated=time.time())
        if arg.get("metadata") is not None:
            s["metadata"] = dict(arg["metadata"])
        self.cloud.nodes.stop_node(s, "rebuild")
        self.cloud.scheduler.at(self.cloud.delay("serverRebuild"), self._rebuilt, s["id"], start, old_image)
        return 202, {"server": self._body(s)}, self._hdr()

    def _rebuilt(self, sid, start, old_image):
        s = self.servers.get(sid)
        if s is None or s["status"] != "REBUILD":
            return
        s.update(status="ACTIVE", task_state=None, vm_state="active", launched=time.time(), updated=time.time())
        self.record(s, "rebuild", start, image={"from": old_image, "to": s["image"]})
        self.cloud.nodes.boot(s, "rebuild")

    def _resize(self, s, arg):
        ref = str(arg.get("flavorRef"))
        flavor = self.flavors.get(ref)
        if flavor is None:
            raise bad_request("Invalid flavorRef provided.")
        self._require_state(s, "resize")
        if flavor["id"] == s["flavor"]["id"]:
            raise bad_request("When resizing, instances must change flavor!")
        start = time.time()
        s.update(status="RESIZE", task_state="resize_prep", vm_state="active", old_flavor=s["flavor"], updated=time.time())
        self.cloud.nodes.stop_node(s, "resize")
        self.cloud.scheduler.at(self.cloud.delay("serverResize"), self._resized, s["id"], start, flavor["id"])
        return 202, None, self._hdr()

    def _resized(self, sid, start, flavor_id):
        s = self.servers.get(sid)
        if s is None or s["status"] != "RESIZE":
            return
        s.update(status="VERIFY_RESIZE", task_state=None, vm_state="resized", flavor=self.flavors[flavor_id],
                 updated=time.time())
        self.record(s, "resize", start, flavor={"from": s["old_flavor"]["name"], "to": s["flavor"]["name"]})
        self.cloud.nodes.reboot(s)

    def _confirm_resize(self, s, arg):
        if s["status"] != "VERIFY_RESIZE":
            raise conflict("Cannot 'confirmResize' instance %s while it is in vm_state %s" % (s["id"], s["vm_state"]))
        start = time.time()
        s.update(task_state="resize_confirming", updated=time.time())
        self.cloud.scheduler.at(self.cloud.delay("serverConfirm"), self._confirmed, s["id"], start)
        return 204, None, self._hdr()

    def _confirmed(self, sid, start):
        s = self.servers.get(sid)
        if s is None or s["status"] != "VERIFY_RESIZE":
            return
        s.update(status="ACTIVE", task_state=None, vm_state="active", old_flavor=None, updated=time.time())
        self.record(s, "confirm-resize", start, flavor=s["flavor"]["name"])

    def _revert_resize(self, s, arg):
        if s["status"] != "VERIFY_RESIZE":
            raise conflict("Cannot 'revertResize' instance %s while it is in vm_state %s" % (s["id"], s["vm_state"]))
        start = time.time()
        s.update(status="ACTIVE", task_state=None, vm_state="active", flavor=s["old_flavor"], old_flavor=None)
        self.record(s, "revert-resize", start, flavor=s["flavor"]["name"])
        return 202, None, self._hdr()

    def _force_delete(self, s, arg):
        s["task_state"] = None
        start = time.time()
        self.cloud.paths.remember(s["id"])
        self.cloud.nodes.stop_node(s, "delete")
        self._deleted(s["id"], start)
        return 202, None, self._hdr()

    def _console_output(self, s, arg):
        """What the node printed (cloud/nodes.py), the last `length` lines when given (Nova's os-getConsoleOutput)."""
        text = self.cloud.nodes.console(s["id"])
        length = arg.get("length")
        if length is not None:
            try:
                length = int(length)
            except (TypeError, ValueError):
                raise bad_request("Invalid input for field/attribute length. Value: %s." % length)
            lines = text.splitlines(True)
            text = "".join(lines[-length:]) if length > 0 else ""
        return 200, {"output": text}, self._hdr()

    def _noop(self, s, arg):
        return 202, None, self._hdr()

    def _start(self, s, arg):
        self._require_state(s, "start", ("SHUTOFF",))
        s.update(status="ACTIVE", vm_state="active", power_state=1)
        self.record(s, "start", time.time())
        self.cloud.nodes.reboot(s)
        return 202, None, self._hdr()

    def _stop(self, s, arg):
        self._require_state(s, "stop", ("ACTIVE",))
        s.update(status="SHUTOFF", vm_state="stopped", power_state=4)
        self.record(s, "stop", time.time())
        self.cloud.nodes.stop_node(s, "stop")
        return 202, None, self._hdr()

    def _reboot(self, s, arg):
        self._require_state(s, "reboot", ("ACTIVE",))
        self.record(s, "reboot", time.time())
        self.cloud.nodes.stop_node(s, "reboot")
        self.cloud.nodes.reboot(s)
        return 202, None, self._hdr()

    # ---- metadata -------------------------------------------------------------------------------

    def get_metadata(self, req):
        self.cloud.require_token(req)
        return 200, {"metadata": dict(self.server(req.params["id"])["metadata"])}, self._hdr()

    def _metadata_changed(self, s, old, start):
        new = s["metadata"]
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if keys:
            s["updated"] = time.time()
            self.record(s, "update", start, changed={"metadata": keys})
            self.cloud.nodes.metadata_changed(s, old)

    def set_metadata(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        md = (req.json or {}).get("metadata")
        self._check_metadata(md)
        if len(set(s["metadata"]) | set(md)) > MAX_METADATA_ITEMS:
            self._check_metadata(dict(s["metadata"], **md))
        start, old = time.time(), dict(s["metadata"])
        s["metadata"].update(md)
        self._metadata_changed(s, old, start)
        return 200, {"metadata": dict(s["metadata"])}, self._hdr()

    def replace_metadata(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        md = (req.json or {}).get("metadata")
        self._check_metadata(md)
        start, old = time.time(), dict(s["metadata"])
        s["metadata"] = dict(md)
        self._metadata_changed(s, old, start)
        return 200, {"metadata": dict(s["metadata"])}, self._hdr()

    def put_metadata_item(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        meta = (req.json or {}).get("meta") or {}
        if list(meta) != [req.params["key"]]:
            raise bad_request("Request body and URI mismatch")
        self._check_metadata(meta, "meta")
        start, old = time.time(), dict(s["metadata"])
        s["metadata"].update(meta)
        self._metadata_changed(s, old, start)
        return 200, {"meta": meta}, self._hdr()

    def delete_metadata_item(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        key = req.params["key"]
        if key not in s["metadata"]:
            raise not_found("Metadata item was not found")
        start, old = time.time(), dict(s["metadata"])
        del s["metadata"][key]
        self._metadata_changed(s, old, start)
        return 204, None, self._hdr()

    # ---- interfaces -----------------------------------------------------------------------------

    def _iface(self, port):
        return {"port_id": port["id"], "net_id": port["network_id"], "mac_addr": port["mac_address"],
                "port_state": port["status"], "tag": None,
                "fixed_ips": [{"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]} for ip in port["fixed_ips"]]}

    def list_interfaces(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        neutron = self.cloud.services["network"]
        ports = [neutron.port(p) for p in s["ports"]]
        return 200, {"interfaceAttachments": [self._iface(p) for p in ports if p]}, self._hdr()

    def get_interface(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        if req.params["port"] not in s["ports"]:
            raise not_found("Instance %s is not attached." % s["id"])
        return 200, {"interfaceAttachment": self._iface(self.cloud.services["network"].port(req.params["port"]))}, self._hdr()

    def attach_interface(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        self._require_state(s, "attach_interface")
        spec = (req.json or {}).get("interfaceAttachment") or {}
        neutron = self.cloud.services["network"]
        start = time.time()
        if spec.get("port_id"):
            port = neutron.port(spec["port_id"])
            if port is None:
                raise not_found("Port %s could not be found." % spec["port_id"])
            if port["device_id"]:
                raise conflict("Port %s is still in use." % port["id"])
            neutron.bind_port(port["id"], s["id"], "compute:" + s["az"])
            s["ports"].append(port["id"])
        elif spec.get("net_id"):
            if neutron.network(spec["net_id"]) is None:
                raise not_found("Network %s could not be found." % spec["net_id"])
            pid = neutron.create_port_for_server(spec["net_id"], None, s["id"], "compute:" + s["az"])
            s["ports"].append(pid)
            s["made_ports"].append(pid)
            port = neutron.port(pid)
        else:
            raise bad_request("Invalid input for field/attribute interfaceAttachment.")
        self.record(s, "attach-port", start, port=port["id"])
        self.cloud.nodes.port_attached(s, port["id"])
        return 200, {"interfaceAttachment": self._iface(port)}, self._hdr()

    def detach_interface(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        pid = req.params["port"]
        if pid not in s["ports"]:
            raise not_found("Port %s is not attached" % pid)
        if s["task_state"] is not None:
            raise conflict("Cannot 'detach_interface' instance %s while it is in task_state %s" % (s["id"], s["task_state"]))
        start = time.time()
        self.cloud.nodes.port_detached(s, pid)
        self.cloud.scheduler.at(self.cloud.delay("interface"), self._detached, s["id"], pid, start)
        return 202, None, self._hdr()

    def _detached(self, sid, pid, start):
        s = self.servers.get(sid)
        if s is None or pid not in s["ports"]:
            return
        s["ports"].remove(pid)
        neutron = self.cloud.services["network"]
        if pid in s["made_ports"]:
            s["made_ports"].remove(pid)
            neutron.delete_port_internal(pid)
        else:
            neutron.unbind_port(pid)
        self.record(s, "detach-port", start, port=pid)

    # ---- tags -----------------------------------------------------------------------------------

    def get_tags(self, req):
        self.cloud.require_token(req)
        return 200, {"tags": list(self.server(req.params["id"])["tags"])}, self._hdr()

    def set_tags(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        s["tags"] = list((req.json or {}).get("tags") or [])
        return 200, {"tags": list(s["tags"])}, self._hdr()

    # ---- volume attachments ---------------------------------------------------------------------

    def _attachment(self, s, vid):
        return {"id": vid, "volumeId": vid, "serverId": s["id"], "device": "/dev/vd%s" % "bcdefghij"[s["volumes"].index(vid)],
                "tag": None, "delete_on_termination": False, "attachment_id": vid, "bdm_uuid": vid}

    def list_volume_attachments(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        return 200, {"volumeAttachments": [self._attachment(s, v) for v in s["volumes"]]}, self._hdr()

    def get_volume_attachment(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        if req.params["vol"] not in s["volumes"]:
            raise not_found("Volume %s is not attached to the instance" % req.params["vol"])
        return 200, {"volumeAttachment": self._attachment(s, req.params["vol"])}, self._hdr()

    def attach_volume(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        self._require_state(s, "attach_volume")
        spec = (req.json or {}).get("volumeAttachment") or {}
        vid = spec.get("volumeId")
        cinder = self.cloud.services["volumev3"]
        cinder.attach(vid, s)
        s["volumes"].append(vid)
        return 200, {"volumeAttachment": self._attachment(s, vid)}, self._hdr()

    def detach_volume(self, req):
        self.cloud.require_token(req)
        s = self.server(req.params["id"])
        vid = req.params["vol"]
        if vid not in s["volumes"]:
            raise not_found("Volume %s is not attached to the instance" % vid)
        self.cloud.services["volumev3"].detach(vid, s)
        s["volumes"].remove(vid)
        return 202, None, self._hdr()

    # ---- server groups --------------------------------------------------------------------------

    def create_group(self, req):
        self.cloud.require_token(req)
        spec = (req.json or {}).get("server_group") or {}
        policy = spec.get("policy") or (spec.get("policies") or [None])[0]
        if policy not in ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"):
            raise bad_request("Invalid input for field/attribute policy. Value: %s." % policy)
        start = time.time()
        g = {"id": self.cloud.new_id(), "name": spec.get("name"), "policy": policy, "rules": spec.get("rules") or {},
             "members": [], "project_id": "admin", "user_id": "admin"}
        self.groups[g["id"]] = g
        self.cloud.record({"type": "OS::Nova::ServerGroup", "physicalId": g["id"], "name": g["name"], "action": "create",
                           "start": start, "end": time.time()})
        return 200, {"server_group": dict(g, policies=[policy])}, self._hdr()

    def list_groups(self, req):
        self.cloud.require_token(req)
        return 200, {"server_groups": [dict(g, policies=[g["policy"]]) for g in self.groups.values()]}, self._hdr()

    def get_group(self, req):
        self.cloud.require_token(req)
        g = self.groups.get(req.params["id"])
        if g is None:
            raise not_found("Server group %s could not be found." % req.params["id"])
        return 200, {"server_group": dict(g, policies=[g["policy"]])}, self._hdr()

    def delete_group(self, req):
        self.cloud.require_token(req)
        g = self.groups.pop(req.params["id"], None)
        if g is None:
            raise not_found("Server group %s could not be found." % req.params["id"])
        start = time.time()
        self.cloud.paths.remember(g["id"])
        self.cloud.record({"type": "OS::Nova::ServerGroup", "physicalId": g["id"], "name": g["name"], "action": "delete",
                           "start": start, "end": time.time()})
        return 204, None, self._hdr()
