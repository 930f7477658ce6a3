"""Fake Octavia (load-balancer v2): load balancers (with a VIP port in the fake Neutron), listeners,
pools, members and health monitors, with Octavia's provisioning state machine: a create, update or
delete puts the object in PENDING_CREATE / PENDING_UPDATE / PENDING_DELETE and its load balancer in
PENDING_UPDATE for a short delay, during which the whole load balancer is immutable (409, which Heat
retries). Validation as Octavia does it: duplicate listener ports and members (409), protocol and
algorithm combinations (the ovn provider supports only SOURCE_IP_PORT), one health monitor per pool,
delay >= timeout, deleting a load balancer that still has children (400)."""

import ipaddress
import time

from .web import HttpError

TYPES = {"loadbalancer": "OS::Octavia::LoadBalancer", "listener": "OS::Octavia::Listener", "pool": "OS::Octavia::Pool",
         "member": "OS::Octavia::PoolMember", "healthmonitor": "OS::Octavia::HealthMonitor"}
ALGORITHMS = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT")
POOL_PROTOCOLS = {"TCP": ("TCP", "PROXY", "PROXYV2"), "HTTP": ("HTTP", "PROXY", "PROXYV2"),
                  "HTTPS": ("HTTPS", "PROXY", "PROXYV2", "TCP"), "TERMINATED_HTTPS": ("HTTP", "PROXY", "PROXYV2"),
                  "UDP": ("UDP",), "SCTP": ("SCTP",)}


def fault(status, message):
    return HttpError(status, {"faultcode": "Client" if status < 500 else "Server", "faultstring": message,
                              "debuginfo": None})


class Octavia(object):
    service_type = "load-balancer"

    def __init__(self, cloud):
        self.cloud = cloud
        self.store = {k: {} for k in TYPES}
        self.providers = cloud.catalogue.get("octaviaProviders", ["amphora", "ovn"])

    def inventory(self):
        return {TYPES[k]: sorted(v) for k, v in self.store.items()}

    def register(self, r):
        p = "/load-balancer/v2.0/lbaas"
        r.add("GET", "/load-balancer", lambda req: (200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
            {"rel": "self", "href": self.cloud.base_url + "/load-balancer/v2.0"}]}]}))
        r.add("GET", "/load-balancer/v2", lambda req: (200, {"version": {"id": "v2.25", "status": "CURRENT"}}))
        for kind, plural in (("loadbalancer", "loadbalancers"), ("listener", "listeners"), ("pool", "pools"),
                             ("healthmonitor", "healthmonitors")):
            r.add("GET", "%s/%s" % (p, plural), self._lister(kind, plural))
            r.add("POST", "%s/%s" % (p, plural), self._creator(kind))
            r.add("GET", "%s/%s/(?P<id>[^/]+)" % (p, plural), self._shower(kind))
            r.add("PUT", "%s/%s/(?P<id>[^/]+)" % (p, plural), self._updater(kind))
            r.add("DELETE", "%s/%s/(?P<id>[^/]+)" % (p, plural), self._deleter(kind))
        r.add("GET", p + "/pools/(?P<pool>[^/]+)/members", self._lister("member", "members"))
        r.add("POST", p + "/pools/(?P<pool>[^/]+)/members", self._creator("member"))
        r.add("GET", p + "/pools/(?P<pool>[^/]+)/members/(?P<id>[^/]+)", self._shower("member"))
        r.add("PUT", p + "/pools/(?P<pool>[^/]+)/members/(?P<id>[^/]+)", self._updater("member"))
        r.add("DELETE", p + "/pools/(?P<pool>[^/]+)/members/(?P<id>[^/]+)", self._deleter("member"))
        r.add("GET", p + "/loadbalancers/(?P<id>[^/]+)/status", self.status_tree)
        r.add("GET", p + "/providers", lambda req: (200, {"providers": [{"name": n, "description": n} for n in self.providers]}))

    # ---- tree and state -------------------------------------------------------------------------

    def _lb_of(self, kind, obj):
        if kind == "loadbalancer":
            return obj
        if kind == "listener":
            return self.store["loadbalancer"].get(obj["loadbalancers"][0]["id"])
        if kind == "pool":
            return self.store["loadbalancer"].get(obj["loadbalancers"][0]["id"])
        if kind == "member":
            pool = self.store["pool"].get(obj["pool_id"])
            return self._lb_of("pool", pool) if pool else None
        if kind == "healthmonitor":
            pool = self.store["pool"].get(obj["pools"][0]["id"])
            return self._lb_of("pool", pool) if pool else None

    def _require_mutable(self, lb):
        if lb is None:
            return
        if lb["provisioning_status"] != "ACTIVE":
            raise fault(409, "Load Balancer %s is immutable and cannot be updated." % lb["id"])

    def _get(self, kind, ident):
        obj = self.store[kind].get(ident)
        if obj is None:
            label = {"loadbalancer": "Load Balancer", "listener": "Listener", "pool": "Pool", "member": "Member",
                     "healthmonitor": "Health Monitor"}[kind]
            raise fault(404, "%s %s not found." % (label, ident))
        return obj

    def _transition(self, kind, obj, pending, start, action, **extra):
        """Put obj in PENDING_*, its load balancer in PENDING_UPDATE; settle after the delay."""
        lb = self._lb_of(kind, obj)
        obj["provisioning_status"] = pending
        if lb is not None and lb is not obj:
            lb["provisioning_status"] = "PENDING_UPDATE"
        self.cloud.scheduler.at(self.cloud.delay("octavia"), self._settle, kind, obj["id"], lb["id"] if lb else None,
                                pending, start, action, extra)

    def _settle(self, kind, ident, lb_id, pending, start, action, extra):
        obj = self.store[kind].get(ident)
        lb = self.store["loadbalancer"].get(lb_id) if lb_id else None
        if obj is None:
            return
        if pending == "PENDING_DELETE":
            self._remove(kind, obj)
        else:
            obj["provisioning_status"] = "ACTIVE"
            obj["operating_status"] = "ONLINE" if kind != "member" else "NO_MONITOR"
        if lb is not None and lb is not obj and lb_id in self.store["loadbalancer"]:
            lb["provisioning_status"] = "ACTIVE"
            lb["operating_status"] = "ONLINE"
        entry = {"type": TYPES[kind], "physicalId": ident, "name": obj.get("name"), "action": action, "start": start,
                 "end": time.time()}
        entry.update(extra)
        self.cloud.record(entry)

    def _remove(self, kind, obj):
        self.store[kind].pop(obj["id"], None)
        if kind == "loadbalancer":
            self.cloud.services["network"].delete_port_internal(obj["vip_port_id"])
            for child in ("healthmonitor", "member", "pool", "listener"):  # a cascade delete
                for other in list(self.store[child].values()):
                    if self._lb_of(child, other) is None or self._lb_of(child, other) is obj:
                        self.store[child].pop(other["id"], None)
        elif kind == "listener":
            lb = self.store["loadbalancer"].get(obj["loadbalancers"][0]["id"])
            if lb:
                lb["listeners"] = [x for x in lb["listeners"] if x["id"] != obj["id"]]
        elif kind == "pool":
            lb = self.store["loadbalancer"].get(obj["loadbalancers"][0]["id"])
            if lb:
                lb["pools"] = [x for x in lb["pools"] if x["id"] != obj["id"]]
            for lst in self.store["listener"].values():
                if lst["default_pool_id"] == obj["id"]:
                    lst["default_pool_id"] = None
        elif kind == "member":
            pool = self.store["pool"].get(obj["pool_id"])
            if pool:
                pool["members"] = [x for x in pool["members"] if x["id"] != obj["id"]]
        elif kind == "healthmonitor":
            pool = self.store["pool"].get(obj["pools"][0]["id"])
            if pool:
                pool["healthmonitor_id"] = None

    def _base(self, spec):
        return {"id": self.cloud.new_id(), "name": spec.get("name", ""), "description": spec.get("description", ""),
                "admin_state_up": spec.get("admin_state_up", True), "project_id": "admin", "tenant_id": "admin",
                "provisioning_status": "PENDING_CREATE", "operating_status": "OFFLINE", "created_at": None,
                "updated_at": None, "tags": list(spec.get("tags") or [])}

    # ---- generic routes -------------------------------------------------------------------------

    def _lister(self, kind, plural):
        def handler(req):
            self.cloud.require_token(req)
            items = [dict(o) for o in self.store[kind].values()
                     if (kind != "member" or o["pool_id"] == req.params.get("pool"))
                     and all(str(o.get(k)) == v[-1] for k, v in req.query.items() if k not in ("limit", "marker", "fields"))]
            return 200, {plural: items, plural + "_links": []}

        return handler

    def _shower(self, kind):
        def handler(req):
            self.cloud.require_token(req)
            obj = self._get(kind, req.params["id"])
            if kind == "member" and obj["pool_id"] != req.params["pool"]:
                raise fault(404, "Member %s not found." % req.params["id"])
            return 200, {kind: dict(obj)}

        return handler

    def _creator(self, kind):
        def handler(req):
            self.cloud.require_token(req)
            spec = (req.json or {}).get(kind)
            if not isinstance(spec, dict):
                raise fault(400, "Invalid input for field/attribute %s." % kind)
            obj = getattr(self, "_make_" + kind)(spec, req)
            return 201, {kind: dict(obj)}, {"Location": "%s" % obj["id"]}

        return handler

    def _updater(self, kind):
        def handler(req):
            self.cloud.require_token(req)
            obj = self._get(kind, req.params["id"])
            spec = (req.json or {}).get(kind)
            if not isinstance(spec, dict):
                raise fault(400, "Invalid input for field/attribute %s." % kind)
            self._require_mutable(self._lb_of(kind, obj))
            start = time.time()
            changed = {}
            for k, v in spec.items():
                if k in ("id", "loadbalancer_id", "listener_id", "pool_id", "protocol", "protocol_port", "address",
                         "subnet_id", "vip_address", "vip_subnet_id", "provider", "type"):
                    if obj.get(k) != v:
                        raise fault(400, "Invalid input for field/attribute %s. Value: '%s'. Value should be "
                                         "unset or unchanged" % (k, v))
                    continue
                if obj.get(k) != v:
                    changed[k] = {"from": obj.get(k), "to": v}
                    obj[k] = v
            self._transition(kind, obj, "PENDING_UPDATE", start, "update", changed=changed)
            return 200, {kind: dict(obj)}

        return handler

    def _deleter(self, kind):
        def handler(req):
            self.cloud.require_token(req)
            obj = self._get(kind, req.params["id"])
            lb = self._lb_of(kind, obj)
            self._require_mutable(lb)
            if kind == "loadbalancer" and (obj["listeners"] or obj["pools"]) and req.arg("cascade") not in ("true", "True"):
                raise fault(400, "Cannot delete Load Balancer %s - it has children" % obj["id"])
            start = time.time()
            self.cloud.paths.remember(obj["id"])
            self._transition(kind, obj, "PENDING_DELETE", start, "delete")
            return 204, None

        return handler

    def status_tree(self, req):
        self.cloud.require_token(req)
        lb = self._get("loadbalancer", req.params["id"])
        return 200, {"statuses": {"loadbalancer": {"id": lb["id"], "name": lb["name"],
                                                   "provisioning_status": lb["provisioning_status"],
                                                   "operating_status": lb["operating_status"], "listeners": []}}}

    # ---- kinds ----------------------------------------------------------------------------------

    def _make_loadbalancer(self, spec, req):
        provider = spec.get("provider") or "amphora"
        if provider not in self.providers:
            raise fault(400, "Provider '%s' is not enabled." % provider)
        neutron = self.cloud.services["network"]
        subnet_id = spec.get("vip_subnet_id")
        if not subnet_id:
            raise fault(400, "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.")
        sub = neutron.subnet(subnet_id)
        if sub is None:
            raise fault(400, "Validation failure: Subnet %s not found." % subnet_id)
        addr = spec.get("vip_address")
        if addr is not None and ipaddress.ip_address(addr) not in ipaddress.ip_network(sub["cidr"]):
            raise fault(400, "Validation failure: VIP address %s is not in subnet %s." % (addr, subnet_id))
        lb = self._base(spec)
        try:
            port = neutron.create_vip_port(subnet_id, addr, "octavia-lb-" + lb["id"], "Octavia")
        except HttpError as ex:
            raise fault(409 if ex.status == 409 else 400, "IP address %s is already allocated on subnet %s" % (addr, subnet_id)
                        if ex.status == 409 else "Validation failure: %s" % ex.body)
        lb.update({"vip_address": port["fixed_ips"][0]["ip_address"], "vip_port_id": port["id"], "vip_subnet_id": subnet_id,
                   "vip_network_id": sub["network_id"], "vip_qos_policy_id": None, "provider": provider,
                   "flavor_id": spec.get("flavor_id"), "availability_zone": spec.get("availability_zone"),
                   "listeners": [], "pools": [], "additional_vips": []})
        self.store["loadbalancer"][lb["id"]] = lb
        self.cloud.scheduler.at(self.cloud.delay("octavia"), self._settle, "loadbalancer", lb["id"], None, "PENDING_CREATE",
                                time.time(), "create", {"provider": provider, "vip": lb["vip_address"]})
        return lb

    def _make_listener(self, spec, req):
        lb = self.store["loadbalancer"].get(spec.get("loadbalancer_id"))
        if lb is None:
            raise fault(400, "Validation failure: Load Balancer %s not found." % spec.get("loadbalancer_id"))
        self._require_mutable(lb)
        proto, port = spec.get("protocol"), spec.get("protocol_port")
        if proto not in POOL_PROTOCOLS:
            raise fault(400, "Invalid input for field/attribute protocol. Value: '%s'." % proto)
        for other in self.store["listener"].values():
            if other["loadbalancers"][0]["id"] == lb["id"] and other["protocol_port"] == port:
                raise fault(409, "Another Listener on this Load Balancer is already using protocol_port %s" % port)
        for cidr in spec.get("allowed_cidrs") or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise fault(400, "Invalid input for field/attribute allowed_cidrs. Value: '%s'." % cidr)
        obj = self._base(spec)
        obj.update({"protocol": proto, "protocol_port": port, "loadbalancers": [{"id": lb["id"]}],
                    "default_pool_id": spec.get("default_pool_id"), "connection_limit": spec.get("connection_limit", -1),
                    "allowed_cidrs": spec.get("allowed_cidrs") or None, "insert_headers": spec.get("insert_headers") or {},
                    "timeout_client_data": 50000, "timeout_member_connect": 5000, "timeout_member_data": 50000,
                    "timeout_tcp_inspect": 0, "l7policies": [], "sni_container_refs": [],
                    "default_tls_container_ref": spec.get("default_tls_container_ref")})
        self.store["listener"][obj["id"]] = obj
        lb["listeners"].append({"id": obj["id"]})
        self._transition("listener", obj, "PENDING_CREATE", time.time(), "create", port=port)
        return obj

    def _make_pool(self, spec, req):
        listener = self.store["listener"].get(spec.get("listener_id")) if spec.get("listener_id") else None
        if spec.get("listener_id") and listener is None:
            raise fault(400, "Validation failure: Listener %s not found." % spec.get("listener_id"))
        lb_id = listener["loadbalancers"][0]["id"] if listener else spec.get("loadbalancer_id")
        lb = self.store["loadbalancer"].get(lb_id)
        if lb is None:
            raise fault(400, "Validation failure: Load Balancer %s not found." % lb_id)
        self._require_mutable(lb)
        proto, algo = spec.get("protocol"), spec.get("lb_algorithm")
        if algo not in ALGORITHMS:
            raise fault(400, "Invalid input for field/attribute lb_algorithm. Value: '%s'." % algo)
        if lb["provider"] == "ovn" and algo != "SOURCE_IP_PORT":
            raise fault(400, "Provider 'ovn' does not support a requested option: OVN provider does not support %s "
                             "algorithm" % algo)
        if listener is not None:
            if proto not in POOL_PROTOCOLS.get(listener["protocol"], ()):
                raise fault(400, "Validation failure: The pool protocol '%s' is invalid while the listener protocol is "
                                 "'%s'." % (proto, listener["protocol"]))
            if listener["default_pool_id"]:
                raise fault(409, "Listener %s already has a default pool %s" % (listener["id"], listener["default_pool_id"]))
        obj = self._base(spec)
        obj.update({"protocol": proto, "lb_algorithm": algo, "loadbalancers": [{"id": lb["id"]}],
                    "listeners": [{"id": listener["id"]}] if listener else [], "members": [], "healthmonitor_id": None,
                    "session_persistence": spec.get("session_persistence"), "tls_enabled": False})
        self.store["pool"][obj["id"]] = obj
        lb["pools"].append({"id": obj["id"]})
        if listener is not None:
            listener["default_pool_id"] = obj["id"]
        self._transition("pool", obj, "PENDING_CREATE", time.time(), "create")
        return obj

    def _make_member(self, spec, req):
        pool = self.store["pool"].get(req.params["pool"])
        if pool is None:
            raise fault(404, "Pool %s not found." % req.params["pool"])
        lb = self._lb_of("pool", pool)
        self._require_mutable(lb)
        addr, port = spec.get("address"), spec.get("protocol_port")
        try:
            ipaddress.ip_address(addr)
        except (ValueError, TypeError):
            raise fault(400, "Invalid input for field/attribute address. Value: '%s'." % addr)
        if spec.get("subnet_id") and self.cloud.services["network"].subnet(spec["subnet_id"]) is None:
            raise fault(400, "Validation failure: Subnet %s not found." % spec["subnet_id"])
        for other in self.store["member"].values():
            if other["pool_id"] == pool["id"] and other["address"] == addr and other["protocol_port"] == port:
                raise fault(409, "Another member on this pool is already using ip %s on protocol_port %s" % (addr, port))
        obj = self._base(spec)
        obj.update({"pool_id": pool["id"], "address": addr, "protocol_port": port, "subnet_id": spec.get("subnet_id"),
                    "weight": spec.get("weight", 1), "backup": bool(spec.get("backup", False)),
                    "monitor_address": spec.get("monitor_address"), "monitor_port": spec.get("monitor_port")})
        self.store["member"][obj["id"]] = obj
        pool["members"].append({"id": obj["id"]})
        self._transition("member", obj, "PENDING_CREATE", time.time(), "create", address=addr, port=port)
        return obj

    def _make_healthmonitor(self, spec, req):
        pool = self.store["pool"].get(spec.get("pool_id"))
        if pool is None:
            raise fault(400, "Validation failure: Pool %s not found." % spec.get("pool_id"))
        self._require_mutable(self._lb_of("pool", pool))
        if pool["healthmonitor_id"]:
            raise fault(409, "Pool %s already has a health monitor" % pool["id"])
        delay, timeout = spec.get("delay"), spec.get("timeout")
        if delay is not None and timeout is not None and int(delay) < int(timeout):
            raise fault(400, "Validation failure: The delay must be greater than or equal to the timeout")
        obj = self._base(spec)
        obj.update({"type": spec.get("type"), "delay": delay, "timeout": timeout, "max_retries": spec.get("max_retries"),
                    "max_retries_down": spec.get("max_retries_down", 3), "http_method": spec.get("http_method"),
                    "url_path": spec.get("url_path"), "expected_codes": spec.get("expected_codes"),
                    "pools": [{"id": pool["id"]}]})
        self.store["healthmonitor"][obj["id"]] = obj
        pool["healthmonitor_id"] = obj["id"]
        self._transition("healthmonitor", obj, "PENDING_CREATE", time.time(), "create")
        return obj
