"""Fake Keystone (identity v3): what Heat, its clients and the openstack CLI call.

Tokens (password, token, trust and application credential authentication; project, domain, trust or no
scope) with the service catalogue of the twin, users, projects, roles and grants, trusts, application
credentials (the openstack CLI's `application credential create`; a token from one is scoped to its project
with its roles, and asks for no scope). Heat's real keystone
client (heat_keystoneclient) runs against it: stack domain projects and users, trusts for deferred
authentication, and the stack domain user tokens that TOKEN_SIGNAL wait-condition handles carry.
Tokens expire after ``tokenLifetimeSec`` (Keystone's default, 3600 s).
"""

import secrets
import time
import uuid

from .web import HttpError, iso_us

DEFAULT_DOMAIN = "default"
ADMIN = "admin"  # heat-api's noauth middleware says every request is user "admin" of project "admin"


def _err(status, message, title):
    return HttpError(status, {"error": {"code": status, "message": message, "title": title}})


def unauthorized(message="The request you have made requires authentication."):
    return _err(401, message, "Unauthorized")


def not_found(kind, ident):
    return _err(404, "Could not find %s: %s." % (kind, ident), "Not Found")


class Keystone(object):
    service_type = "identity"

    def __init__(self, cloud):
        self.cloud = cloud
        self.lifetime = float(cloud.config.get("tokenLifetimeSec", 3600))
        self.domains = {}
        self.projects = {}
        self.users = {}
        self.roles = {}
        self.grants = set()  # (user_id, target_kind, target_id, role_id)
        self.trusts = {}
        self.tokens = {}
        self.credentials = {}
        self.app_creds = {}
        creds = cloud.credentials
        self._domain(DEFAULT_DOMAIN, "Default")
        self._domain(creds["stackDomainId"], "heat")
        for name in ("admin", "member", "reader", "heat_stack_user", "heat_stack_owner", "service"):
            self.roles[name + "-role"] = {"id": name + "-role", "name": name, "domain_id": None}
        self._project(ADMIN, "admin", DEFAULT_DOMAIN)
        self._project("service", "service", DEFAULT_DOMAIN)
        self._user(ADMIN, "admin", DEFAULT_DOMAIN, creds["adminPassword"], ADMIN)
        self._user("heat", "heat", DEFAULT_DOMAIN, creds["heatPassword"], "service")
        self._user("heat-domain-admin", creds["stackDomainAdmin"], creds["stackDomainId"], creds["stackDomainAdminPassword"], None)
        self.grants.add((ADMIN, "project", ADMIN, "admin-role"))
        self.grants.add((ADMIN, "project", ADMIN, "member-role"))
        self.grants.add(("heat", "project", "service", "admin-role"))
        self.grants.add(("heat", "project", "service", "service-role"))
        self.grants.add(("heat-domain-admin", "domain", creds["stackDomainId"], "admin-role"))
        self.seed_projects, self.seed_users = set(self.projects), set(self.users)

    def inventory(self):
        return {"OS::Keystone::Project": sorted(set(self.projects) - self.seed_projects),
                "OS::Keystone::User": sorted(set(self.users) - self.seed_users),
                "OS::Keystone::Trust": sorted(self.trusts)}

    # ---- model ---------------------------------------------------------------------------------

    def _domain(self, ident, name):
        self.domains[ident] = {"id": ident, "name": name, "enabled": True, "description": ""}

    def _project(self, ident, name, domain_id, description=""):
        p = {"id": ident, "name": name, "domain_id": domain_id, "enabled": True, "description": description,
             "is_domain": False, "parent_id": domain_id, "tags": []}
        self.projects[ident] = p
        return p

    def _user(self, ident, name, domain_id, password, project_id, options=None):
        u = {"id": ident, "name": name, "domain_id": domain_id, "enabled": True, "password": password,
             "default_project_id": project_id, "options": options or {}, "password_expires_at": None}
        self.users[ident] = u
        return u

    def _public_user(self, u):
        out = {k: v for k, v in u.items() if k != "password"}
        out["links"] = {"self": self.url("/v3/users/%s" % u["id"])}
        return out

    def url(self, path=""):
        return self.cloud.base_url + "/identity" + path

    def _role_names(self, user_id, kind, target):
        return [self.roles[r]["name"] for (u, k, t, r) in sorted(self.grants) if u == user_id and k == kind and t == target]

    def _find_user(self, spec):
        if "id" in spec:
            return self.users.get(spec["id"])
        dom = spec.get("domain") or {}
        for u in self.users.values():
            if u["name"] == spec.get("name") and (
                    dom.get("id", u["domain_id"]) == u["domain_id"]
                    and dom.get("name", self.domains[u["domain_id"]]["name"]) == self.domains[u["domain_id"]]["name"]):
                return u
        return None

    def _find_project(self, spec):
        if "id" in spec:
            return self.projects.get(spec["id"])
        dom = spec.get("domain") or {}
        for p in self.projects.values():
            if p["name"] == spec.get("name") and dom.get("id", p["domain_id"]) == p["domain_id"] and (
                    dom.get("name", self.domains[p["domain_id"]]["name"]) == self.domains[p["domain_id"]]["name"]):
                return p
        return None

    def token(self, token_id):
        """The live token with this id, or None (unknown or expired)."""
        t = self.tokens.get(token_id)
        if t is None or t["expires"] <= time.time():
            return None
        return t

    def caller(self, req):
        t = self.token(req.token) if req.token else None
        if t is None:
            raise unauthorized()
        return t

    # ---- tokens --------------------------------------------------------------------------------

    def issue(self, req):
        auth = (req.json or {}).get("auth") or {}
        ident = auth.get("identity") or {}
        methods = ident.get("methods") or []
        user = None
        trust_from_token = None
        if "password" in methods:
            spec = (ident.get("password") or {}).get("user") or {}
            user = self._find_user(spec)
            if user is None or not user["enabled"] or user["password"] != spec.get("password"):
                raise unauthorized("The request you have made requires authentication.")
        elif "token" in methods:
            t = self.token((ident.get("token") or {}).get("id"))
            if t is None:
                raise unauthorized("The token is expired or unknown.")
            if t.get("trust"):
                raise _err(403, "A trust-scoped token cannot be used to get another token.", "Forbidden")
            user = self.users.get(t["user"])
            trust_from_token = None
        elif "application_credential" in methods:
            return self._issue_app_cred(req, ident.get("application_credential") or {}, auth)
        else:
            raise unauthorized("no supported authentication method in %s" % methods)
        scope = auth.get("scope")
        token = {"user": user["id"], "methods": methods, "issued": time.time(), "expires": time.time() + self.lifetime,
                 "project": None, "domain": None, "trust": trust_from_token, "roles": []}
        if scope is None:
            if user.get("default_project_id") and user["default_project_id"] in self.projects:
                scope = {"project": {"id": user["default_project_id"]}}
            else:
                scope = "unscoped"
        if isinstance(scope, dict) and "project" in scope:
            project = self._find_project(scope["project"])
            if project is None:
                raise unauthorized("project %s not found" % scope["project"])
            roles = self._role_names(user["id"], "project", project["id"])
            if not roles:
                raise unauthorized("user %s has no role on project %s" % (user["id"], project["id"]))
            token.update(project=project["id"], roles=roles)
        elif isinstance(scope, dict) and "domain" in scope:
            spec = scope["domain"]
            dom = self.domains.get(spec["id"]) if "id" in spec else next(
                (d for d in self.domains.values() if d["name"] == spec.get("name")), None)
            if dom is None:
                raise unauthorized("domain not found")
            roles = self._role_names(user["id"], "domain", dom["id"])
            if not roles:
                raise unauthorized("user %s has no role on domain %s" % (user["id"], dom["id"]))
            token.update(domain=dom["id"], roles=roles)
        elif isinstance(scope, dict) and "OS-TRUST:trust" in scope:
            trust = self.trusts.get(scope["OS-TRUST:trust"].get("id"))
            if trust is None:
                raise not_found("trust", scope["OS-TRUST:trust"].get("id"))
            if trust["trustee_user_id"] != user["id"]:
                raise _err(403, "User is not a trustee.", "Forbidden")
            token.update(project=trust["project_id"], roles=[r["name"] for r in trust["roles"]], trust=trust["id"],
                         user=trust["trustor_user_id"] if trust["impersonation"] else user["id"])
        token_id = "gAAAAA" + secrets.token_urlsafe(133)  # a fernet token is about 180 characters
        self.tokens[token_id] = token
        nocatalog = "nocatalog" in req.query
        return 201, {"token": self.render(token, catalog=not nocatalog)}, {"X-Subject-Token": token_id}

    def _issue_app_cred(self, req, spec, auth):
        if "id" in spec:
            cred = self.app_creds.get(spec["id"])
        else:
            user = self._find_user(spec.get("user") or {})
            cred = next((c for c in self.app_creds.values()
                         if user is not None and c["user_id"] == user["id"] and c["name"] == spec.get("name")), None)
        if cred is None or cred["secret"] != spec.get("secret"):
            raise unauthorized("The request you have made requires authentication.")
        if cred["expires_at"] and cred["expires_at"] <= iso_us(time.time()):
            raise unauthorized("The application credential has expired.")
        if auth.get("scope"):
            raise unauthorized("Application credentials cannot request a scope.")
        user = self.users.get(cred["user_id"])
        if user is None or not user["enabled"]:
            raise unauthorized("The request you have made requires authentication.")
        held = self._role_names(user["id"], "project", cred["project_id"])
        roles = [r["name"] for r in cred["roles"] if r["name"] in held]
        if not roles:
            raise unauthorized("user %s has no role of the credential on project %s" % (user["id"], cred["project_id"]))
        token = {"user": user["id"], "methods": ["application_credential"], "issued": time.time(),
                 "expires": time.time() + self.lifetime, "project": cred["project_id"], "domain": None,
                 "trust": None, "roles": roles, "app_cred": cred["id"]}
        token_id = "gAAAAA" + secrets.token_urlsafe(133)
        self.tokens[token_id] = token
        body = self.render(token, catalog="nocatalog" not in req.query)
        body["application_credential"] = {"id": cred["id"], "name": cred["name"], "restricted": not cred["unrestricted"]}
        return 201, {"token": body}, {"X-Subject-Token": token_id}

    def render(self, t, catalog=True):
        user = self.users[t["user"]]
        body = {
            "methods": t["methods"],
            "user": {"id": user["id"], "name": user["name"], "password_expires_at": None,
                     "domain": {"id": user["domain_id"], "name": self.domains[user["domain_id"]]["name"]}},
            "audit_ids": [uuid.uuid4().hex[:22]],
            "issued_at": iso_us(t["issued"]),
            "expires_at": iso_us(t["expires"]),
        }
        if t["project"]:
            p = self.projects[t["project"]]
            body["project"] = {"id": p["id"], "name": p["name"],
                               "domain": {"id": p["domain_id"], "name": self.domains[p["domain_id"]]["name"]}}
            body["is_domain"] = False
        if t["domain"]:
            d = self.domains[t["domain"]]
            body["domain"] = {"id": d["id"], "name": d["name"]}
        if t["project"] or t["domain"]:
            body["roles"] = [{"id": n + "-role", "name": n} for n in t["roles"]]
            if catalog:
                body["catalog"] = self.cloud.catalog(t["project"])
        if t["trust"]:
            tr = self.trusts[t["trust"]]
            body["OS-TRUST:trust"] = {"id": tr["id"], "impersonation": tr["impersonation"],
                                      "trustee_user": {"id": tr["trustee_user_id"]},
                                      "trustor_user": {"id": tr["trustor_user_id"]}}
        return body

    def static_token_body(self, user_id, project_id):
        """A token body (no id) for heat-api's noauth middleware: its requests run as this user."""
        t = {"user": user_id, "methods": ["password"], "issued": time.time(), "expires": time.time() + 10 * 365 * 86400,
             "project": project_id, "domain": None, "trust": None, "roles": self._role_names(user_id, "project", project_id)}
        return {"token": self.render(t)}

    # ---- routes --------------------------------------------------------------------------------

    def register(self, r):
        r.add("GET", "/identity", self.versions)
        r.add("GET", "/identity/v3", self.version)
        r.add("POST", "/identity/v3/auth/tokens", self.issue)
        r.add("GET", "/identity/v3/auth/tokens", self.validate)
        r.add("HEAD", "/identity/v3/auth/tokens", self.validate)
        r.add("DELETE", "/identity/v3/auth/tokens", self.revoke)
        r.add("GET", "/identity/v3/roles", self.list_roles)
        r.add("GET", "/identity/v3/domains", self.list_domains)
        r.add("GET", "/identity/v3/domains/(?P<id>[^/]+)", self.get_domain)
        r.add("POST", "/identity/v3/projects", self.create_project)
        r.add("GET", "/identity/v3/projects", self.list_projects)
        r.add("GET", "/identity/v3/projects/(?P<id>[^/]+)", self.get_project)
        r.add("DELETE", "/identity/v3/projects/(?P<id>[^/]+)", self.delete_project)
        r.add("PUT", "/identity/v3/projects/(?P<p>[^/]+)/users/(?P<u>[^/]+)/roles/(?P<r>[^/]+)", self.grant)
        r.add("PUT", "/identity/v3/domains/(?P<p>[^/]+)/users/(?P<u>[^/]+)/roles/(?P<r>[^/]+)", self.grant_domain)
        r.add("POST", "/identity/v3/users", self.create_user)
        r.add("GET", "/identity/v3/users", self.list_users)
        r.add("GET", "/identity/v3/users/(?P<id>[^/]+)", self.get_user)
        r.add("PATCH", "/identity/v3/users/(?P<id>[^/]+)", self.update_user)
        r.add("DELETE", "/identity/v3/users/(?P<id>[^/]+)", self.delete_user)
        r.add("POST", "/identity/v3/OS-TRUST/trusts", self.create_trust)
        r.add("GET", "/identity/v3/OS-TRUST/trusts/(?P<id>[^/]+)", self.get_trust)
        r.add("DELETE", "/identity/v3/OS-TRUST/trusts/(?P<id>[^/]+)", self.delete_trust)
        r.add("POST", "/identity/v3/users/(?P<u>[^/]+)/application_credentials", self.create_app_cred)
        r.add("GET", "/identity/v3/users/(?P<u>[^/]+)/application_credentials", self.list_app_creds)
        r.add("GET", "/identity/v3/users/(?P<u>[^/]+)/application_credentials/(?P<id>[^/]+)", self.get_app_cred)
        r.add("DELETE", "/identity/v3/users/(?P<u>[^/]+)/application_credentials/(?P<id>[^/]+)", self.delete_app_cred)
        r.add("POST", "/identity/v3/credentials", self.create_credential)
        r.add("GET", "/identity/v3/credentials", self.list_credentials)
        r.add("GET", "/identity/v3/credentials/(?P<id>[^/]+)", self.get_credential)
        r.add("DELETE", "/identity/v3/credentials/(?P<id>[^/]+)", self.delete_credential)

    def _version_doc(self):
        return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": self.url("/v3/")}],
                "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}

    def versions(self, req):
        return 300, {"versions": {"values": [self._version_doc()]}}

    def version(self, req):
        return 200, {"version": self._version_doc()}

    def validate(self, req):
        self.caller(req)
        t = self.token(req.headers.get("X-Subject-Token"))
        if t is None:
            raise not_found("token", req.headers.get("X-Subject-Token"))
        return 200, {"token": self.render(t, catalog="nocatalog" not in req.query)}, {
            "X-Subject-Token": req.headers.get("X-Subject-Token")}

    def revoke(self, req):
        self.caller(req)
        self.tokens.pop(req.headers.get("X-Subject-Token"), None)
        return 204, None

    def list_roles(self, req):
        self.caller(req)
        name = req.arg("name")
        roles = [dict(r, links={"self": self.url("/v3/roles/" + r["id"])}) for r in self.roles.values()
                 if name is None or r["name"] == name]
        return 200, {"roles": roles, "links": {"self": self.url("/v3/roles"), "next": None, "previous": None}}

    def list_domains(self, req):
        self.caller(req)
        name = req.arg("name")
        doms = [d for d in self.domains.values() if name is None or d["name"] == name]
        return 200, {"domains": doms, "links": {"self": self.url("/v3/domains"), "next": None, "previous": None}}

    def get_domain(self, req):
        self.caller(req)
        d = self.domains.get(req.params["id"])
        if d is None:
            raise not_found("domain", req.params["id"])
        return 200, {"domain": d}

    def create_project(self, req):
        self.caller(req)
        spec = (req.json or {}).get("project") or {}
        dom = spec.get("domain_id") or DEFAULT_DOMAIN
        if dom not in self.domains:
            raise not_found("domain", dom)
        if any(p["name"] == spec.get("name") and p["domain_id"] == dom for p in self.projects.values()):
            raise _err(409, "Conflict occurred attempting to store project - it is not permitted to have two "
                            "projects with the same name in the same domain : %s." % spec.get("name"), "Conflict")
        p = self._project(uuid.uuid4().hex, spec.get("name"), dom, spec.get("description", ""))
        self.cloud.record_simple("OS::Keystone::Project", p["id"], "create", name=p["name"], service="keystone")
        return 201, {"project": dict(p, links={"self": self.url("/v3/projects/" + p["id"])})}

    def list_projects(self, req):
        self.caller(req)
        name = req.arg("name")
        ps = [p for p in self.projects.values() if name is None or p["name"] == name]
        return 200, {"projects": ps, "links": {"self": self.url("/v3/projects"), "next": None, "previous": None}}

    def get_project(self, req):
        self.caller(req)
        p = self.projects.get(req.params["id"])
        if p is None:
            raise not_found("project", req.params["id"])
        return 200, {"project": dict(p, links={"self": self.url("/v3/projects/" + p["id"])})}

    def delete_project(self, req):
        self.caller(req)
        if self.projects.pop(req.params["id"], None) is None:
            raise not_found("project", req.params["id"])
        self.cloud.record_simple("OS::Keystone::Project", req.params["id"], "delete", service="keystone")
        return 204, None

    def _grant(self, req, kind):
        self.caller(req)
        p, u, r = req.params["p"], req.params["u"], req.params["r"]
        if u not in self.users:
            raise not_found("user", u)
        if r not in self.roles:
            raise not_found("role", r)
        if (kind == "project" and p not in self.projects) or (kind == "domain" and p not in self.domains):
            raise not_found(kind, p)
        self.grants.add((u, kind, p, r))
        return 204, None

    def grant(self, req):
        return self._grant(req, "project")

    def grant_domain(self, req):
        return self._grant(req, "domain")

    def create_user(self, req):
        self.caller(req)
        spec = (req.json or {}).get("user") or {}
        dom = spec.get("domain_id") or DEFAULT_DOMAIN
        if dom not in self.domains:
            raise not_found("domain", dom)
        if any(u["name"] == spec.get("name") and u["domain_id"] == dom for u in self.users.values()):
            raise _err(409, "Conflict occurred attempting to store user - Duplicate entry found with name %s at "
                            "domain ID %s." % (spec.get("name"), dom), "Conflict")
        u = self._user(uuid.uuid4().hex, spec.get("name"), dom, spec.get("password"), spec.get("default_project_id"),
                       spec.get("options"))
        u["enabled"] = spec.get("enabled", True)
        self.cloud.record_simple("OS::Keystone::User", u["id"], "create", name=u["name"], service="keystone")
        return 201, {"user": self._public_user(u)}

    def list_users(self, req):
        self.caller(req)
        name = req.arg("name")
        us = [self._public_user(u) for u in self.users.values() if name is None or u["name"] == name]
        return 200, {"users": us, "links": {"self": self.url("/v3/users"), "next": None, "previous": None}}

    def get_user(self, req):
        self.caller(req)
        u = self.users.get(req.params["id"])
        if u is None:
            raise not_found("user", req.params["id"])
        return 200, {"user": self._public_user(u)}

    def update_user(self, req):
        self.caller(req)
        u = self.users.get(req.params["id"])
        if u is None:
            raise not_found("user", req.params["id"])
        for k, v in ((req.json or {}).get("user") or {}).items():
            if k in ("enabled", "password", "name", "default_project_id", "description", "email"):
                u[k] = v
        return 200, {"user": self._public_user(u)}

    def delete_user(self, req):
        self.caller(req)
        self.cloud.paths.remember(req.params["id"])
        if self.users.pop(req.params["id"], None) is None:
            raise not_found("user", req.params["id"])
        self.grants = {g for g in self.grants if g[0] != req.params["id"]}
        for tid, t in list(self.tokens.items()):
            if t["user"] == req.params["id"]:
                del self.tokens[tid]
        self.cloud.record_simple("OS::Keystone::User", req.params["id"], "delete", service="keystone")
        return 204, None

    def create_trust(self, req):
        caller = self.caller(req)
        spec = (req.json or {}).get("trust") or {}
        trustor, trustee = spec.get("trustor_user_id"), spec.get("trustee_user_id")
        if trustor != caller["user"]:
            raise _err(403, "The authenticated user should match the trustor.", "Forbidden")
        if trustee not in self.users:
            raise not_found("user", trustee)
        project = spec.get("project_id")
        held = self._role_names(trustor, "project", project)
        roles = []
        for r in spec.get("roles") or []:
            role = self.roles.get(r["id"]) if "id" in r else next(
                (x for x in self.roles.values() if x["name"] == r.get("name")), None)
            if role is None or role["name"] not in held:
                raise not_found("role", r)
            roles.append({"id": role["id"], "name": role["name"]})
        tr = {"id": uuid.uuid4().hex, "trustor_user_id": trustor, "trustee_user_id": trustee, "project_id": project,
              "impersonation": bool(spec.get("impersonation")), "roles": roles, "expires_at": spec.get("expires_at"),
              "remaining_uses": spec.get("remaining_uses"), "allow_redelegation": bool(spec.get("allow_redelegation")),
              "redelegation_count": 0}
        self.trusts[tr["id"]] = tr
        return 201, {"trust": dict(tr, links={"self": self.url("/v3/OS-TRUST/trusts/" + tr["id"])},
                                   roles_links={"self": None, "next": None, "previous": None})}

    def get_trust(self, req):
        self.caller(req)
        tr = self.trusts.get(req.params["id"])
        if tr is None:
            raise not_found("trust", req.params["id"])
        return 200, {"trust": tr}

    def delete_trust(self, req):
        self.caller(req)
        if self.trusts.pop(req.params["id"], None) is None:
            raise not_found("trust", req.params["id"])
        return 204, None

    def create_credential(self, req):
        self.caller(req)
        spec = dict((req.json or {}).get("credential") or {})
        spec["id"] = uuid.uuid4().hex
        self.credentials[spec["id"]] = spec
        return 201, {"credential": spec}

    def list_credentials(self, req):
        self.caller(req)
        return 200, {"credentials": list(self.credentials.values()), "links": {"next": None, "previous": None}}

    def get_credential(self, req):
        self.caller(req)
        c = self.credentials.get(req.params["id"])
        if c is None:
            raise not_found("credential", req.params["id"])
        return 200, {"credential": c}

    def delete_credential(self, req):
        self.caller(req)
        if self.credentials.pop(req.params["id"], None) is None:
            raise not_found("credential", req.params["id"])
        return 204, None

    # ---- application credentials (of the calling user, for the project its token is scoped to) ----

    def _public_app_cred(self, c):
        out = {k: v for k, v in c.items() if k != "secret"}
        out["links"] = {"self": self.url("/v3/users/%s/application_credentials/%s" % (c["user_id"], c["id"]))}
        return out

    def _own(self, req):
        caller = self.caller(req)
        if caller["user"] != req.params["u"]:
            raise _err(403, "You are not authorized to perform the requested action.", "Forbidden")
        if caller.get("app_cred") or caller.get("trust"):
            raise _err(403, "Using method 'application_credential' is not allowed for managing additional "
                            "application credentials.", "Forbidden")
        return caller

    def create_app_cred(self, req):
        caller = self._own(req)
        spec = (req.json or {}).get("application_credential") or {}
        if not caller["project"]:
            raise _err(401, "An application credential needs a project-scoped token.", "Unauthorized")
        if any(c["name"] == spec.get("name") and c["user_id"] == caller["user"] for c in self.app_creds.values()):
            raise _err(409, "Conflict occurred attempting to store application_credential - Duplicate entry.",
                       "Conflict")
        wanted = [r.get("name") or self.roles.get(r.get("id"), {}).get("name") for r in spec.get("roles") or []]
        roles = [{"id": n + "-role", "name": n, "domain_id": None} for n in (wanted or caller["roles"])]
        if any(r["name"] not in caller["roles"] for r in roles):
            raise _err(404, "Could not find role: %s." % wanted, "Not Found")
        c = {"id": uuid.uuid4().hex, "name": spec.get("name"), "description": spec.get("description"),
             "user_id": caller["user"], "project_id": caller["project"], "roles": roles,
             "expires_at": spec.get("expires_at"), "unrestricted": bool(spec.get("unrestricted")),
             "access_rules": spec.get("access_rules") or [],
             "secret": spec.get("secret") or secrets.token_urlsafe(64)}
        self.app_creds[c["id"]] = c
        return 201, {"application_credential": dict(self._public_app_cred(c), secret=c["secret"])}

    def list_app_creds(self, req):
        self._own(req)
        name = req.arg("name")
        cs = [self._public_app_cred(c) for c in self.app_creds.values()
              if c["user_id"] == req.params["u"] and (name is None or c["name"] == name)]
        return 200, {"application_credentials": cs, "links": {"self": None, "next": None, "previous": None}}

    def get_app_cred(self, req):
        self._own(req)
        c = self.app_creds.get(req.params["id"])
        if c is None or c["user_id"] != req.params["u"]:
            raise not_found("application credential", req.params["id"])
        return 200, {"application_credential": self._public_app_cred(c)}

    def delete_app_cred(self, req):
        self._own(req)
        c = self.app_creds.get(req.params["id"])
        if c is None or c["user_id"] != req.params["u"]:
            raise not_found("application credential", req.params["id"])
        del self.app_creds[c["id"]]
        for tid, t in list(self.tokens.items()):
            if t.get("app_cred") == c["id"]:
                del self.tokens[tid]
        return 204, None
