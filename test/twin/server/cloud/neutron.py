"""Fake Neutron (network v2.0): networks, subnets with IP allocation, ports (bound by Nova and Octavia),
routers with gateways and interfaces, security groups and rules, floating IPs.

Validation as Neutron does it where Heat's behaviour depends on it: unknown ids (404), an address
already allocated or outside the subnet (409/400), a security group or rule that does not exist or is
a duplicate (404/409), a floating IP associated with a port whose subnet no router connects to the
floating network (404: "External network ... is not reachable"), and deletes that would orphan
something (a subnet with allocated ports, a router with interfaces, a security group in use: 409).
"""

import ipaddress
import time
import uuid

from .web import HttpError, iso

EXTENSIONS = ["router", "external-net", "security-group", "binding", "port-security", "allowed-address-pairs",
              "extraroute", "standard-attr-tag", "standard-attr-description", "standard-attr-timestamp", "quotas",
              "agent", "dhcp_agent_scheduler", "network_availability_zone", "router_availability_zone",
              "availability_zone", "subnet_allocation", "net-mtu", "ext-gw-mode", "l3-flavors", "project-id"]

TYPES = {"network": "OS::Neutron::Net", "subnet": "OS::Neutron::Subnet", "port": "OS::Neutron::Port",
         "router": "OS::Neutron::Router", "security_group": "OS::Neutron::SecurityGroup",
         "security_group_rule": "OS::Neutron::SecurityGroupRule", "floatingip": "OS::Neutron::FloatingIP"}
LIST_CONTROL = ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse", "verbose")


def neutron_error(status, kind, message):
    return HttpError(status, {"NeutronError": {"type": kind, "message": message, "detail": ""}})


def not_found(kind, ident):
    name = "".join(p.capitalize() for p in kind.split("_"))
    label = {"security_group": "Security group", "security_group_rule": "Security group rule",
             "floatingip": "Floating IP"}.get(kind, kind.capitalize())
    return neutron_error(404, name + "NotFound", "%s %s could not be found." % (label, ident))


def _matches(obj, query):
    for k, values in query.items():
        if k in LIST_CONTROL:
            continue
        v = obj.get(k)
        wanted = set(values)
        if isinstance(v, bool):
            if str(v).lower() not in {w.lower() for w in wanted}:
                return False
        elif k == "fixed_ips":
            continue
        elif v is None:
            if not ({"", "None", "null"} & wanted):
                return False
        elif isinstance(v, list):
            if not wanted & set(map(str, v)):
                return False
        elif str(v) not in wanted:
            return False
    return True


class Neutron(object):
    service_type = "network"

    def __init__(self, cloud):
        self.cloud = cloud
        self.store = {k: {} for k in TYPES}
        self._mac = 0
        for net in cloud.catalogue.get("networks", []):
            nid = net.get("id") or str(uuid.uuid5(uuid.NAMESPACE_DNS, "net-" + net["name"]))
            self.store["network"][nid] = self._network_body(nid, {"name": net["name"],
                                                                  "router:external": bool(net.get("external")),
                                                                  "shared": bool(net.get("shared", net.get("external")))})
            for i, sub in enumerate(net.get("subnets", [])):
                sid = sub.get("id") or str(uuid.uuid5(uuid.NAMESPACE_DNS, "subnet-%s-%d" % (net["name"], i)))
                body = self._subnet_body(sid, dict(sub, network_id=nid, name=sub.get("name", net["name"] + "-subnet")))
                self.store["subnet"][sid] = body
                self.store["network"][nid]["subnets"].append(sid)
        for spec in cloud.catalogue.get("routers", []):
            ext = next(n for n in self.store["network"].values() if n["name"] == spec["external_network"])
            r = self._base(str(uuid.uuid5(uuid.NAMESPACE_DNS, "router-" + spec["name"])), {"name": spec["name"]})
            r.update({"admin_state_up": True, "status": "ACTIVE", "routes": [], "distributed": False, "ha": False,
                      "availability_zones": ["nova"], "availability_zone_hints": [], "flavor_id": None})
            r["external_gateway_info"] = self._gateway(r, {"network_id": ext["id"]})
            self.store["router"][r["id"]] = r
            for name in spec.get("interfaces", []):
                sub = next(x for x in self.store["subnet"].values() if x["name"] == name)
                self._make_port({"network_id": sub["network_id"], "device_id": r["id"], "security_groups": [],
                                 "device_owner": "network:router_interface",
                                 "fixed_ips": [{"subnet_id": sub["id"], "ip_address": sub["gateway_ip"]}]}, record=False)
        self.seeded = {k: set(v) for k, v in self.store.items()}

    def inventory(self):
        return {TYPES[k]: sorted(set(v) - self.seeded[k]) for k, v in self.store.items()}

    # ---- lookups used by Nova and Octavia -------------------------------------------------------

    def port(self, pid):
        return self.store["port"].get(pid)

    def network(self, nid):
        return self.store["network"].get(nid)

    def subnet(self, sid):
        return self.store["subnet"].get(sid)

    def bind_port(self, pid, device_id, owner):
        p = self.store["port"][pid]
        p.update(device_id=device_id, device_owner=owner, status="ACTIVE", updated_at=iso())
        p["binding:host_id"] = "twin-compute" if owner.startswith("compute:") else ""
        p["binding:vif_type"] = "ovs"

    def unbind_port(self, pid):
        p = self.store["port"].get(pid)
        if p is not None:
            p.update(device_id="", device_owner="", status="DOWN", updated_at=iso())
            p["binding:host_id"] = ""
            p["binding:vif_type"] = "unbound"

    def create_port_for_server(self, network_id, fixed_ip, device_id, owner):
        spec = {"network_id": network_id}
        if fixed_ip:
            spec["fixed_ips"] = [{"ip_address": fixed_ip}]
        p = self._make_port(spec, record=True)
        self.bind_port(p["id"], device_id, owner)
        return p["id"]

    def create_vip_port(self, subnet_id, address, name, owner):
        sub = self.store["subnet"].get(subnet_id)
        if sub is None:
            raise not_found("subnet", subnet_id)
        spec = {"network_id": sub["network_id"], "name": name, "device_owner": owner,
                "fixed_ips": [{"subnet_id": subnet_id, "ip_address": address} if address else {"subnet_id": subnet_id}]}
        return self._make_port(spec, record=False)

    def delete_port_internal(self, pid):
        self.store["port"].pop(pid, None)

    def floating_ips_of_port(self, pid):
        return [f for f in self.store["floatingip"].values() if f["port_id"] == pid]

    # ---- routes ---------------------------------------------------------------------------------

    def register(self, r):
        p = "/networking/v2.0"
        r.add("GET", "/networking", lambda req: (200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
            {"rel": "self", "href": self.cloud.base_url + "/networking/v2.0/"}]}]}))
        r.add("GET", p + "/extensions", self.list_extensions)
        r.add("GET", p + "/extensions/(?P<alias>[^/]+)", self.get_extension)
        for kind, plural in (("network", "networks"), ("subnet", "subnets"), ("port", "ports"), ("router", "routers"),
                             ("security_group", "security-groups"), ("security_group_rule", "security-group-rules"),
                             ("floatingip", "floatingips")):
            r.add("GET", "%s/%s" % (p, plural), self._lister(kind))
            r.add("POST", "%s/%s" % (p, plural), self._creator(kind))
            r.add("GET", "%s/%s/(?P<id>[^/]+)" % (p, plural), self._shower(kind))
            r.add("PUT", "%s/%s/(?P<id>[^/]+)" % (p, plural), self._updater(kind))
            r.add("DELETE", "%s/%s/(?P<id>[^/]+)" % (p, plural), self._deleter(kind))
        r.add("PUT", p + "/routers/(?P<id>[^/]+)/add_router_interface", self.add_interface)
        r.add("PUT", p + "/routers/(?P<id>[^/]+)/remove_router_interface", self.remove_interface)
        r.add("PUT", p + "/(?P<plural>[a-z_-]+)/(?P<id>[^/]+)/tags", self.replace_tags)

    def list_extensions(self, req):
        self.cloud.require_token(req)
        return 200, {"extensions": [{"alias": a, "name": a, "description": a, "updated": "2013-01-01T10:00:00-00:00",
                                     "links": []} for a in EXTENSIONS]}

    def get_extension(self, req):
        self.cloud.require_token(req)
        a = req.params["alias"]
        if a not in EXTENSIONS:
            raise neutron_error(404, "ExtensionNotFound", "Extension with alias %s does not exist" % a)
        return 200, {"extension": {"alias": a, "name": a, "description": a, "updated": "", "links": []}}

    def _present(self, kind, obj, req):
        fields = req.query.get("fields") if req is not None else None
        if fields:
            return {k: obj.get(k) for k in fields}
        return dict(obj)

    def _lister(self, kind):
        plural = kind + "s"

        def handler(req):
            self.cloud.require_token(req)
            items = [self._present(kind, o, req) for o in self.store[kind].values() if _matches(o, req.query)]
            if kind == "port" and "fixed_ips" in req.query:
                pass
            return 200, {plural: items}

        return handler

    def _get(self, kind, ident):
        obj = self.store[kind].get(ident)
        if obj is None:
            raise not_found(kind, ident)
        return obj

    def _shower(self, kind):
        def handler(req):
            self.cloud.require_token(req)
            return 200, {kind: self._present(kind, self._get(kind, req.params["id"]), req)}

        return handler

    def _creator(self, kind):
        def handler(req):
            token = self.cloud.require_token(req)
            body = req.json or {}
            if kind + "s" in body:  # bulk create
                out = [getattr(self, "_make_" + kind)(dict(spec, project_id=token.get("project"))) for spec in body[kind + "s"]]
                return 201, {kind + "s": out}
            spec = body.get(kind)
            if not isinstance(spec, dict):
                raise neutron_error(400, "BadRequest", "Bad %s request: resource body is missing" % kind)
            return 201, {kind: getattr(self, "_make_" + kind)(dict(spec))}

        return handler

    def _updater(self, kind):
        def handler(req):
            self.cloud.require_token(req)
            obj = self._get(kind, req.params["id"])
            spec = (req.json or {}).get(kind)
            if not isinstance(spec, dict):
                raise neutron_error(400, "BadRequest", "Bad %s request: resource body is missing" % kind)
            start = time.time()
            changed = getattr(self, "_update_" + kind, self._update_generic)(obj, spec)
            if changed:
                obj["updated_at"] = iso()
                obj["revision_number"] = obj.get("revision_number", 0) + 1
                self.cloud.record_simple(TYPES[kind], obj["id"], "update", start, name=obj.get("name"), changed=changed)
            return 200, {kind: dict(obj)}

        return handler

    def _deleter(self, kind):
        def handler(req):
            self.cloud.require_token(req)
            obj = self._get(kind, req.params["id"])
            start = time.time()
            self.cloud.paths.remember(obj["id"])
            getattr(self, "_delete_" + kind)(obj)
            self.cloud.record_simple(TYPES[kind], obj["id"], "delete", start, name=obj.get("name"))
            return 204, None

        return handler

    def replace_tags(self, req):
        self.cloud.require_token(req)
        kind = {"networks": "network", "subnets": "subnet", "ports": "port", "routers": "router",
                "security-groups": "security_group", "floatingips": "floatingip"}.get(req.params["plural"])
        if kind is None:
            raise neutron_error(404, "NotFound", "no such resource type %s" % req.params["plural"])
        obj = self._get(kind, req.params["id"])
        obj["tags"] = list((req.json or {}).get("tags") or [])
        return 200, {"tags": obj["tags"]}

    # ---- common ---------------------------------------------------------------------------------

    def _base(self, ident, spec):
        now = iso()
        return {"id": ident, "name": spec.get("name", ""), "description": spec.get("description", ""),
                "project_id": "admin", "tenant_id": "admin", "created_at": now, "updated_at": now,
                "revision_number": 0, "tags": list(spec.get("tags") or [])}

    def _update_generic(self, obj, spec):
        changed = {}
        for k, v in spec.items():
            if obj.get(k) != v:
                changed[k] = {"from": obj.get(k), "to": v}
                obj[k] = v
        return changed

    def _record_create(self, kind, obj, start, **extra):
        self.cloud.record_simple(TYPES[kind], obj["id"], "create", start, name=obj.get("name"), **extra)

    # ---- networks -------------------------------------------------------------------------------

    def _network_body(self, nid, spec):
        body = self._base(nid, spec)
        body.update({"admin_state_up": spec.get("admin_state_up", True), "status": "ACTIVE", "subnets": [],
                     "shared": bool(spec.get("shared", False)), "router:external": bool(spec.get("router:external", False)),
                     "mtu": int(spec.get("mtu", 1450)), "port_security_enabled": spec.get("port_security_enabled", True),
                     "provider:network_type": "vxlan", "provider:physical_network": None,
                     "provider:segmentation_id": 1000 + len(self.store["network"]), "availability_zones": ["nova"],
                     "availability_zone_hints": spec.get("availability_zone_hints", []), "qos_policy_id": None,
                     "is_default": False, "l2_adjacency": True, "ipv4_address_scope": None, "ipv6_address_scope": None,
                     "dns_domain": spec.get("dns_domain", "")})
        return body

    def _make_network(self, spec):
        start = time.time()
        n = self._network_body(self.cloud.new_id(), spec)
        self.store["network"][n["id"]] = n
        self._record_create("network", n, start)
        return dict(n)

    def _delete_network(self, n):
        ports = [p for p in self.store["port"].values() if p["network_id"] == n["id"] and not p["device_owner"].startswith("network:dhcp")]
        if ports:
            raise neutron_error(409, "NetworkInUse", "Unable to complete operation on network %s. There are one or more "
                                                     "ports still in use on the network." % n["id"])
        for sid in list(n["subnets"]):
            self.store["subnet"].pop(sid, None)
        del self.store["network"][n["id"]]

    # ---- subnets --------------------------------------------------------------------------------

    def _subnet_body(self, sid, spec):
        try:
            net = ipaddress.ip_network(spec.get("cidr"), strict=True)
        except (ValueError, TypeError) as ex:
            raise neutron_error(400, "InvalidInput", "Invalid input for operation: %s." % ex)
        hosts = net.hosts() if net.num_addresses > 2 else iter(())
        gateway = spec.get("gateway_ip", "__default__")
        if gateway == "__default__":
            gateway = str(next(net.hosts()))
        pools = spec.get("allocation_pools")
        if not pools:
            first = ipaddress.ip_address(gateway) + 1 if gateway else next(hosts)
            last = net.broadcast_address - 1
            pools = [{"start": str(first), "end": str(last)}]
        for pool in pools:
            for k in ("start", "end"):
                if ipaddress.ip_address(pool[k]) not in net:
                    raise neutron_error(400, "InvalidInput", "Invalid input for operation: The allocation pool %s-%s "
                                        "spans beyond the subnet cidr %s." % (pool["start"], pool["end"], net))
        body = self._base(sid, spec)
        body.update({"network_id": spec["network_id"], "cidr": str(net), "ip_version": int(spec.get("ip_version", net.version)),
                     "gateway_ip": gateway, "allocation_pools": pools, "enable_dhcp": spec.get("enable_dhcp", True),
                     "dns_nameservers": list(spec.get("dns_nameservers") or []), "host_routes": list(spec.get("host_routes") or []),
                     "ipv6_ra_mode": None, "ipv6_address_mode": None, "subnetpool_id": None, "segment_id": None,
                     "service_types": [], "dns_publish_fixed_ip": False})
        return body

    def _make_subnet(self, spec):
        start = time.time()
        net = self.store["network"].get(spec.get("network_id"))
        if net is None:
            raise not_found("network", spec.get("network_id"))
        s = self._subnet_body(self.cloud.new_id(), spec)
        self.store["subnet"][s["id"]] = s
        net["subnets"].append(s["id"])
        self._record_create("subnet", s, start, cidr=s["cidr"])
        return dict(s)

    def _update_subnet(self, s, spec):
        if "cidr" in spec or "network_id" in spec:
            raise neutron_error(400, "BadRequest", "Cannot update read-only attribute cidr/network_id")
        return self._update_generic(s, spec)

    def _delete_subnet(self, s):
        for p in self.store["port"].values():
            if any(ip["subnet_id"] == s["id"] for ip in p["fixed_ips"]) and p["device_owner"] != "network:dhcp":
                raise neutron_error(409, "SubnetInUse", "Unable to complete operation on subnet %s: One or more ports "
                                                        "have an IP allocation from this subnet." % s["id"])
        net = self.store["network"].get(s["network_id"])
        if net:
            net["subnets"] = [x for x in net["subnets"] if x != s["id"]]
        del self.store["subnet"][s["id"]]

    def _allocated(self, subnet_id):
        out = set()
        for p in self.store["port"].values():
            for ip in p["fixed_ips"]:
                if ip["subnet_id"] == subnet_id:
                    out.add(ip["ip_address"])
        for f in self.store["floatingip"].values():
            out.add(f["floating_ip_address"])
        return out

    def _allocate(self, subnet, address=None):
        net = ipaddress.ip_network(subnet["cidr"])
        used = self._allocated(subnet["id"])
        if address is not None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                raise neutron_error(400, "InvalidInput", "Invalid input for operation: '%s' is not a valid IP address." % address)
            if ip not in net:
                raise neutron_error(400, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet." % address)
            if address in used:
                raise neutron_error(409, "IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s" % (
                    address, subnet["id"]))
            return address
        for pool in subnet["allocation_pools"]:
            ip = ipaddress.ip_address(pool["start"])
            end = ipaddress.ip_address(pool["end"])
            while ip <= end:
                if str(ip) not in used:
                    return str(ip)
                ip += 1
        raise neutron_error(409, "IpAddressGenerationFailure", "No more IP addresses available on network %s." % subnet["network_id"])

    # ---- ports ----------------------------------------------------------------------------------

    def _default_sg(self, project):
        for sg in self.store["security_group"].values():
            if sg["name"] == "default" and sg["project_id"] == project:
                return sg["id"]
        sg = self._make_security_group({"name": "default", "description": "Default security group"}, record=False)
        self.seeded["security_group"].add(sg["id"])
        for r in list(self.store["security_group_rule"]):
            if self.store["security_group_rule"][r]["security_group_id"] == sg["id"]:
                self.seeded["security_group_rule"].add(r)
        return sg["id"]

    def _make_port(self, spec, record=True):
        start = time.time()
        net = self.store["network"].get(spec.get("network_id"))
        if net is None:
            raise not_found("network", spec.get("network_id"))
        fixed = []
        wanted = spec.get("fixed_ips")
        if wanted is None:
            wanted = [{"subnet_id": net["subnets"][0]}] if net["subnets"] else []
        for want in wanted:
            sid = want.get("subnet_id")
            if sid is None:
                addr = want.get("ip_address")
                sid = next((x for x in net["subnets"] if addr and ipaddress.ip_address(addr) in ipaddress.ip_network(
                    self.store["subnet"][x]["cidr"])), None)
                if sid is None:
                    raise neutron_error(400, "InvalidInput", "Invalid input for operation: IP address %s is not in any "
                                                             "subnet of network %s." % (addr, net["id"]))
            sub = self.store["subnet"].get(sid)
            if sub is None:
                raise not_found("subnet", sid)
            if sub["network_id"] != net["id"]:
                raise neutron_error(400, "InvalidInput", "Invalid input for operation: Failed to create port on network "
                                                         "%s, because fixed_ips included invalid subnet %s." % (net["id"], sid))
            fixed.append({"subnet_id": sid, "ip_address": self._allocate(sub, want.get("ip_address"))})
        sgs = spec.get("security_groups")
        if sgs is None:
            sgs = [self._default_sg("admin")] if net["port_security_enabled"] else []
        for sg in sgs:
            if sg not in self.store["security_group"]:
                raise not_found("security_group", sg)
        self._mac += 1
        body = self._base(self.cloud.new_id(), spec)
        body.update({"network_id": net["id"], "admin_state_up": spec.get("admin_state_up", True),
                     "mac_address": spec.get("mac_address") or "fa:16:3e:%02x:%02x:%02x" % (
                         (self._mac >> 16) & 255, (self._mac >> 8) & 255, self._mac & 255),
                     "fixed_ips": fixed, "device_id": spec.get("device_id", ""), "device_owner": spec.get("device_owner", ""),
                     "status": "DOWN", "security_groups": list(sgs),
                     "allowed_address_pairs": list(spec.get("allowed_address_pairs") or []),
                     "port_security_enabled": spec.get("port_security_enabled", net["port_security_enabled"]),
                     "binding:vnic_type": spec.get("binding:vnic_type", "normal"), "binding:host_id": "",
                     "binding:vif_type": "unbound", "binding:vif_details": {}, "binding:profile": spec.get("binding:profile", {}),
                     "extra_dhcp_opts": list(spec.get("extra_dhcp_opts") or []), "qos_policy_id": spec.get("qos_policy_id"),
                     "dns_name": spec.get("dns_name", ""), "propagate_uplink_status": False, "ip_allocation": "immediate"})
        self.store["port"][body["id"]] = body
        if record:
            self._record_create("port", body, start, addresses=[ip["ip_address"] for ip in fixed])
        return dict(body)

    def _update_port(self, p, spec):
        if "fixed_ips" in spec:
            new = []
            for want in spec["fixed_ips"]:
                sid = want.get("subnet_id") or p["fixed_ips"][0]["subnet_id"]
                cur = next((ip for ip in p["fixed_ips"] if ip["subnet_id"] == sid and (
                    "ip_address" not in want or ip["ip_address"] == want["ip_address"])), None)
                if cur is not None:
                    new.append(cur)
                else:
                    new.append({"subnet_id": sid, "ip_address": self._allocate(self.store["subnet"][sid], want.get("ip_address"))})
            spec = dict(spec, fixed_ips=new)
        for sg in spec.get("security_groups") or []:
            if sg not in self.store["security_group"]:
                raise not_found("security_group", sg)
        return self._update_generic(p, spec)

    def _delete_port(self, p):
        if p["device_owner"] == "network:router_interface":
            raise neutron_error(409, "PortInUse", "Port %s cannot be deleted directly via the port API: has device owner "
                                                  "network:router_interface." % p["id"])
        nova = self.cloud.services["compute"]
        s = nova.servers.get(p["device_id"])
        if s is not None and p["id"] in s["ports"]:
            s["ports"].remove(p["id"])
            self.cloud.nodes.port_detached(s, p["id"])
        for f in self.store["floatingip"].values():
            if f["port_id"] == p["id"]:
                f.update(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN")
        del self.store["port"][p["id"]]

    # ---- routers --------------------------------------------------------------------------------

    def _gateway(self, r, info):
        if not info:
            return None
        net = self.store["network"].get(info.get("network_id"))
        if net is None:
            raise not_found("network", info.get("network_id"))
        if not net["router:external"]:
            raise neutron_error(400, "BadRequest", "Bad router request: Network %s is not an external network." % net["id"])
        port = self._make_port({"network_id": net["id"], "device_id": r["id"], "device_owner": "network:router_gateway",
                                "security_groups": []}, record=False)
        port["status"] = "ACTIVE"
        self.store["port"][port["id"]]["status"] = "ACTIVE"
        return {"network_id": net["id"], "enable_snat": info.get("enable_snat", True),
                "external_fixed_ips": [dict(ip) for ip in port["fixed_ips"]]}

    def _make_router(self, spec):
        start = time.time()
        body = self._base(self.cloud.new_id(), spec)
        body.update({"admin_state_up": spec.get("admin_state_up", True), "status": "ACTIVE", "routes": [],
                     "distributed": False, "ha": False, "availability_zones": ["nova"],
                     "availability_zone_hints": spec.get("availability_zone_hints", []), "flavor_id": None,
                     "external_gateway_info": None})
        body["external_gateway_info"] = self._gateway(body, spec.get("external_gateway_info"))
        self.store["router"][body["id"]] = body
        self._record_create("router", body, start)
        return dict(body)

    def _update_router(self, r, spec):
        changed = {}
        if "external_gateway_info" in spec:
            old = r["external_gateway_info"]
            want = spec["external_gateway_info"] or None
            if (old or {}).get("network_id") != (want or {}).get("network_id"):
                for pid, p in list(self.store["port"].items()):
                    if p["device_id"] == r["id"] and p["device_owner"] == "network:router_gateway":
                        del self.store["port"][pid]
                r["external_gateway_info"] = self._gateway(r, want)
                changed["external_gateway_info"] = {"from": old, "to": r["external_gateway_info"]}
            spec = {k: v for k, v in spec.items() if k != "external_gateway_info"}
        changed.update(self._update_generic(r, spec))
        return changed

    def _delete_router(self, r):
        if any(p["device_id"] == r["id"] and p["device_owner"] == "network:router_interface" for p in self.store["port"].values()):
            raise neutron_error(409, "RouterInUse", "Router %s still has ports" % r["id"])
        for pid, p in list(self.store["port"].items()):
            if p["device_id"] == r["id"]:
                del self.store["port"][pid]
        del self.store["router"][r["id"]]

    def add_interface(self, req):
        self.cloud.require_token(req)
        r = self._get("router", req.params["id"])
        spec = req.json or {}
        start = time.time()
        if spec.get("subnet_id"):
            sub = self._get("subnet", spec["subnet_id"])
            if any(p["device_id"] == r["id"] and any(ip["subnet_id"] == sub["id"] for ip in p["fixed_ips"])
                   for p in self.store["port"].values()):
                raise neutron_error(400, "BadRequest", "Bad router request: Router already has a port on subnet %s." % sub["id"])
            if not sub["gateway_ip"]:
                raise neutron_error(400, "BadRequest", "Bad router request: Subnet for router interface must have a gateway IP.")
            port = self._make_port({"network_id": sub["network_id"], "device_id": r["id"], "security_groups": [],
                                    "device_owner": "network:router_interface",
                                    "fixed_ips": [{"subnet_id": sub["id"], "ip_address": sub["gateway_ip"]}]}, record=False)
            key, value = "subnet_id", sub["id"]
        elif spec.get("port_id"):
            port = self._get("port", spec["port_id"])
            if port["device_id"]:
                raise neutron_error(409, "PortInUse", "Unable to complete operation on port %s, port is already bound." % port["id"])
            port.update(device_id=r["id"], device_owner="network:router_interface")
            sub = self._get("subnet", port["fixed_ips"][0]["subnet_id"])
            key, value = "port_id", port["id"]
        else:
            raise neutron_error(400, "BadRequest", "Bad router request: Either subnet_id or port_id must be specified")
        self.store["port"][port["id"]]["status"] = "ACTIVE"
        self.cloud.record_simple("OS::Neutron::RouterInterface", "%s:%s=%s" % (r["id"], key, value), "create", start,
                                 router=r["id"], subnet=sub["id"], port=port["id"])
        return 200, {"id": r["id"], "tenant_id": "admin", "project_id": "admin", "port_id": port["id"],
                     "subnet_id": sub["id"], "subnet_ids": [sub["id"]], "network_id": sub["network_id"]}

    def remove_interface(self, req):
        self.cloud.require_token(req)
        r = self._get("router", req.params["id"])
        spec = req.json or {}
        start = time.time()
        for pid, p in list(self.store["port"].items()):
            if p["device_id"] != r["id"] or p["device_owner"] != "network:router_interface":
                continue
            if (spec.get("port_id") and pid == spec["port_id"]) or (
                    spec.get("subnet_id") and any(ip["subnet_id"] == spec["subnet_id"] for ip in p["fixed_ips"])):
                for f in self.store["floatingip"].values():
                    if f["router_id"] == r["id"] and f["port_id"]:
                        fport = self.store["port"].get(f["port_id"])
                        if fport and any(ip["subnet_id"] == p["fixed_ips"][0]["subnet_id"] for ip in fport["fixed_ips"]):
                            raise neutron_error(409, "RouterInterfaceInUseByFloatingIP", "Router interface for subnet %s "
                                                "on router %s cannot be deleted, as it is required by one or more floating "
                                                "IPs." % (p["fixed_ips"][0]["subnet_id"], r["id"]))
                sub = p["fixed_ips"][0]["subnet_id"]
                del self.store["port"][pid]
                key, value = ("port_id", pid) if spec.get("port_id") else ("subnet_id", sub)
                physical = "%s:%s=%s" % (r["id"], key, value)
                self.cloud.paths.remember(physical)
                self.cloud.record_simple("OS::Neutron::RouterInterface", physical, "delete", start, router=r["id"], subnet=sub)
                return 200, {"id": r["id"], "port_id": pid, "subnet_id": sub, "subnet_ids": [sub],
                             "network_id": p["network_id"], "tenant_id": "admin", "project_id": "admin"}
        raise neutron_error(404, "RouterInterfaceNotFoundForSubnet", "Router %s has no interface on subnet %s" % (
            r["id"], spec.get("subnet_id") or spec.get("port_id")))

    # ---- security groups ------------------------------------------------------------------------

    def _make_security_group(self, spec, record=True):
        start = time.time()
        body = self._base(self.cloud.new_id(), spec)
        body.update({"stateful": spec.get("stateful", True), "security_group_rules": []})
        self.store["security_group"][body["id"]] = body
        for ethertype in ("IPv4", "IPv6"):
            self._make_security_group_rule({"security_group_id": body["id"], "direction": "egress",
                                            "ethertype": ethertype}, record=False)
        if record:
            self._record_create("security_group", body, start)
        return dict(body, security_group_rules=[dict(r) for r in body["security_group_rules"]])

    def _delete_security_group(self, sg):
        for p in self.store["port"].values():
            if sg["id"] in p["security_groups"]:
                raise neutron_error(409, "SecurityGroupInUse", "Security Group %s in use." % sg["id"])
        for rid in [r["id"] for r in sg["security_group_rules"]]:
            self.store["security_group_rule"].pop(rid, None)
        for r in list(self.store["security_group_rule"].values()):
            if r["remote_group_id"] == sg["id"]:
                self._delete_security_group_rule(r)
        del self.store["security_group"][sg["id"]]

    def _make_security_group_rule(self, spec, record=True):
        start = time.time()
        sg = self.store["security_group"].get(spec.get("security_group_id"))
        if sg is None:
            raise not_found("security_group", spec.get("security_group_id"))
        if spec.get("remote_group_id") and spec["remote_group_id"] not in self.store["security_group"]:
            raise not_found("security_group", spec["remote_group_id"])
        if spec.get("direction") not in ("ingress", "egress"):
            raise neutron_error(400, "InvalidInput", "Invalid input for direction. Reason: '%s' is not in "
                                                     "['ingress', 'egress']." % spec.get("direction"))
        proto = spec.get("protocol")
        lo, hi = spec.get("port_range_min"), spec.get("port_range_max")
        if lo is not None and hi is not None and int(lo) > int(hi):
            raise neutron_error(400, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= "
                                                                      "port_range_max")
        if (lo is not None or hi is not None) and proto in (None, "any"):
            raise neutron_error(400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
        prefix = spec.get("remote_ip_prefix")
        if prefix:
            try:
                prefix = str(ipaddress.ip_network(prefix, strict=False))
            except ValueError:
                raise neutron_error(400, "InvalidInput", "Invalid input for remote_ip_prefix: '%s' is not a valid IP "
                                                         "prefix." % prefix)
        rule = {"id": self.cloud.new_id(), "security_group_id": sg["id"], "direction": spec["direction"],
                "ethertype": spec.get("ethertype", "IPv4"), "protocol": proto,
                "port_range_min": int(lo) if lo is not None else None, "port_range_max": int(hi) if hi is not None else None,
                "remote_ip_prefix": prefix, "remote_group_id": spec.get("remote_group_id"), "remote_address_group_id": None,
                "description": spec.get("description", ""), "project_id": "admin", "tenant_id": "admin",
                "created_at": iso(), "updated_at": iso(), "revision_number": 0, "tags": []}
        identity = lambda x: tuple(x[k] for k in ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",  # noqa: E731
                                                  "remote_ip_prefix", "remote_group_id"))
        for other in sg["security_group_rules"]:
            if identity(other) == identity(rule):
                raise neutron_error(409, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s." % other["id"])
        self.store["security_group_rule"][rule["id"]] = rule
        sg["security_group_rules"].append(rule)
        if record:
            self._record_create("security_group_rule", rule, start, securityGroup=sg["id"])
        return dict(rule)

    def _update_security_group_rule(self, r, spec):
        raise neutron_error(400, "BadRequest", "Security group rules cannot be updated")

    def _delete_security_group_rule(self, r):
        sg = self.store["security_group"].get(r["security_group_id"])
        if sg:
            sg["security_group_rules"] = [x for x in sg["security_group_rules"] if x["id"] != r["id"]]
        self.store["security_group_rule"].pop(r["id"], None)

    # ---- floating IPs ---------------------------------------------------------------------------

    def _router_for(self, port, ext_net_id):
        subnets = {ip["subnet_id"] for ip in port["fixed_ips"]}
        for r in self.store["router"].values():
            gw = r["external_gateway_info"]
            if not gw or gw["network_id"] != ext_net_id:
                continue
            for p in self.store["port"].values():
                if p["device_id"] == r["id"] and p["device_owner"] == "network:router_interface" and any(
                        ip["subnet_id"] in subnets for ip in p["fixed_ips"]):
                    return r["id"]
        return None

    def _associate(self, f, port_id, fixed_ip):
        if not port_id:
            f.update(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN")
            return
        port = self._get("port", port_id)
        router = self._router_for(port, f["floating_network_id"])
        if router is None:
            raise neutron_error(404, "ExternalGatewayForFloatingIPNotFound",
                                "External network %s is not reachable from subnet %s.  Therefore, cannot associate Port %s "
                                "with a Floating IP." % (f["floating_network_id"], port["fixed_ips"][0]["subnet_id"], port_id))
        for other in self.store["floatingip"].values():
            if other["id"] != f["id"] and other["port_id"] == port_id:
                raise neutron_error(409, "FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s with port %s "
                                    "using fixed IP %s, as that fixed IP already has a floating IP on external network %s." % (
                                        f["floating_ip_address"], port_id, port["fixed_ips"][0]["ip_address"],
                                        f["floating_network_id"]))
        f.update(port_id=port_id, fixed_ip_address=fixed_ip or port["fixed_ips"][0]["ip_address"], router_id=router,
                 status="ACTIVE")

    def _make_floatingip(self, spec):
        start = time.time()
        net = self.store["network"].get(spec.get("floating_network_id"))
        if net is None:
            raise not_found("network", spec.get("floating_network_id"))
        if not net["router:external"]:
            raise neutron_error(400, "BadRequest", "Bad floatingip request: Network %s is not a valid external network." % net["id"])
        if not net["subnets"]:
            raise neutron_error(409, "IpAddressGenerationFailure", "No more IP addresses available on network %s." % net["id"])
        sub = self.store["subnet"][net["subnets"][0]]
        body = self._base(self.cloud.new_id(), spec)
        body.update({"floating_network_id": net["id"], "floating_ip_address": self._allocate(sub, spec.get("floating_ip_address")),
                     "port_id": None, "fixed_ip_address": None, "router_id": None, "status": "DOWN",
                     "port_details": None, "dns_name": "", "dns_domain": "", "qos_policy_id": None})
        self._associate(body, spec.get("port_id"), spec.get("fixed_ip_address"))
        self.store["floatingip"][body["id"]] = body
        self._record_create("floatingip", body, start, address=body["floating_ip_address"])
        return dict(body)

    def _update_floatingip(self, f, spec):
        changed = {}
        if "port_id" in spec:
            old = f["port_id"]
            self._associate(f, spec.get("port_id"), spec.get("fixed_ip_address"))
            if old != f["port_id"]:
                changed["port_id"] = {"from": old, "to": f["port_id"]}
        rest = {k: v for k, v in spec.items() if k not in ("port_id", "fixed_ip_address")}
        changed.update(self._update_generic(f, rest))
        return changed

    def _delete_floatingip(self, f):
        del self.store["floatingip"][f["id"]]
