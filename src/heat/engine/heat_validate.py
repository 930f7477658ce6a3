#!/usr/bin/python3
"""Offline conformance check of a HOT stack with the real Heat engine.

Checks a stack the way ``openstack stack create -t ROOT -e ENV ...`` would,
without a cloud:
  * files are gathered by heatclient's own template_utils
    (process_template_path, process_multiple_environments_and_files with the
    environment-file list the client sends), and the request body goes through
    the client's JSON round trip (get_file contents read as bytes become str);
  * the API and engine side follow heat-api / EngineService: with environment
    files the engine merges them itself (environment_util.merge_environments),
    Template.validate(), then Stack(..., strict_validate=True).validate() and
    the resource-type policy of a project member (not an admin);
  * every nested stack the create would make is validated strictly too (Heat
    itself only validates them non-strictly before the create): template
    resources, OS::Heat::Stack templates, and the members of ResourceGroups
    (first member, or all with --all-members) and AutoScalingGroups: first the
    group's stack (the member definition against the member type), then the
    member's own stack, recursively.

What needs a cloud is neutralised and reported, never silently ignored:
  * the service catalog check answers "available";
  * custom constraints backed by an API client (nova.flavor, glance.image,
    neutron.network, ...) are not evaluated: ``skippedConstraints``; the
    offline ones (net_cidr, ip_addr, dns_name, ...) run for real;
  * creating any API client raises OfflineLookup, which client plugins treat
    as "not found" (what Heat tolerates for things created later in the same
    stack): ``skippedLookups``;
  * Nova's newest microversion and its absolute limits are assumed:
    ``assumptions``;
  * Heat's internal RPC (group resources) gets a stub that knows no stacks;
  * root parameters with no value anywhere get a type-appropriate placeholder:
    ``placeholderParameters``; values a nested stack receives from resources
    not created yet (get_resource / get_attr in the parent) get a placeholder
    of the nested parameter's type: ``unresolvedInputs`` of that template.

Run with Debian's interpreter (/usr/bin/python3) where python3-heat and
python3-heatclient are installed.

Usage:
  heat_validate.py ROOT.yaml [-e ENV.yaml ...] [--param NAME=VALUE ...]
                   [--all-members] [--pretty]
  heat_validate.py --batch JOBS.json|-   (a JSON list of {"template",
                   "environments"?, "parameters"?, "allMembers"?}; Heat is
                   imported once for all of them)

Output (stdout, JSON): {"ok", "heatVersion", "templates": [{"file", "role":
root|nested|member, "resource", "ok", "errors", "unresolvedInputs",
"seconds"}], "skippedConstraints", "skippedLookups", "placeholderParameters",
"assumptions", "seconds", "importSeconds"}; --batch wraps the reports as
{"ok", "heatVersion", "importSeconds", "reports": [...]}.

Exit status: 0 when Heat accepts every stack, 1 when Heat rejects one, 2 on a
harness error (Heat not importable, a missing file, bad arguments).
"""

import argparse
import collections.abc
import contextlib
import io
import json
import re
import logging
import os
import sys
import threading
import time
import traceback
import warnings

EXIT_OK, EXIT_REJECTED, EXIT_HARNESS = 0, 1, 2
INSTALL_HINT = ("install Debian's python3-heat: "
                "apt-get install -y python3-heat python3-heatclient")


class HarnessError(Exception):
    """A problem with the harness or its input, not a Heat verdict."""


class ClientRejected(Exception):
    """heatclient refused the input (bad YAML, unreadable nested file)."""


# Values that satisfy the custom constraints Heat checks offline, used when a
# placeholder has to stand in for a value that only exists on a cloud.
# Items in a placeholder list: more than any group in a stack under Heat's
# default max_resources_per_stack (1000) can have members.
LIST_PLACEHOLDER_ITEMS = 1000

# Parameter names that carry addresses (for placeholders of unconstrained ones).
ADDRESS_NAME = re.compile(r"(^|_)(address|addresses|ip|ips|vip|ip_address)(_|$)", re.I)

OFFLINE_SAMPLES = {
    "net_cidr": "10.0.0.0/24",
    "ip_addr": "10.0.0.10",
    "ip_or_cidr": "10.0.0.10",
    "mac_addr": "fa:16:3e:00:00:01",
    "dns_name": "placeholder.example.org",
    "dns_domain": "example.org.",
    "rel_dns_name": "placeholder",
    "iso_8601": "2030-01-01T00:00:00Z",
    "expiration": "2099-01-01T00:00:00Z",
    "timezone": "UTC",
    "cron_expression": "0 0 * * *",
}


def _fail_harness(message):
    sys.stdout.write(json.dumps({"ok": False, "harnessError": message}) + "\n")
    sys.stderr.write("heat_validate: %s\n" % message)
    sys.exit(EXIT_HARNESS)


# ---------------------------------------------------------------------------
# Importing Heat (the expensive part: done once per process)
# ---------------------------------------------------------------------------

class Engine(object):
    """Heat imported, configured and patched for offline validation."""

    def __init__(self):
        started = time.monotonic()
        # Heat's plugins log deprecation notices while loading; keep stdout
        # for the report and stderr quiet.
        logging.disable(logging.CRITICAL)
        warnings.simplefilter("ignore")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._import()
        except ImportError as ex:
            raise HarnessError("cannot import Heat with %s (%s); %s"
                               % (sys.executable, ex, INSTALL_HINT))
        self.version = self._heat_version()
        self._tls = threading.local()
        self._patch()
        self.import_seconds = time.monotonic() - started

    def _import(self):
        from oslo_config import cfg
        from oslo_serialization import jsonutils
        from heat.common import config as heat_config  # noqa: registers opts
        from heat.common import context as heat_context
        from heat.common import environment_format
        from heat.common import environment_util
        from heat.common import exception
        from heat.common import policy
        from heat.common import template_format
        from heat.common import wsgi  # registers max_json_body_size
        from heat.engine import constraints
        from heat.engine import environment
        from heat.engine import function
        from heat.engine import parameters
        from heat.engine import resource
        from heat.engine import resources
        from heat.engine import rsrc_defn
        from heat.engine import stack as heat_stack
        from heat.engine import template as heat_template
        from heat.engine.resources import stack_resource
        from heat.engine.resources import template_resource
        from heat.engine.resources.openstack.heat import resource_group
        from heat.engine.resources.openstack.heat import autoscaling_group
        from heatclient.common import template_utils
        from heatclient.common import utils as heatclient_utils

        del heat_config
        cfg.CONF([], project="heat", default_config_files=[],
                 default_config_dirs=[])
        resources.initialise()

        self.cfg = cfg
        self.jsonutils = jsonutils
        self.heat_context = heat_context
        self.environment_format = environment_format
        self.environment_util = environment_util
        self.exception = exception
        self.policy = policy
        self.template_format = template_format
        self.wsgi = wsgi
        self.constraints = constraints
        self.environment = environment
        self.function = function
        self.parameters = parameters
        self.resource = resource
        self.rsrc_defn = rsrc_defn
        self.heat_stack = heat_stack
        self.heat_template = heat_template
        self.stack_resource = stack_resource
        self.template_resource = template_resource
        self.resource_group = resource_group
        self.autoscaling_group = autoscaling_group
        self.template_utils = template_utils
        self.heatclient_utils = heatclient_utils

    @staticmethod
    def version_only():
        """The installed Heat's version without importing Heat."""
        return Engine._heat_version()

    @staticmethod
    def _heat_version():
        try:
            from importlib import metadata
            return metadata.version("openstack-heat")
        except Exception:  # pragma: no cover - depends on packaging
            return "unknown"

    # -- what needs a cloud ------------------------------------------------

    def _patch(self):
        engine = self
        constraints = self.constraints
        resource = self.resource
        stack_resource = self.stack_resource

        # 1. Service catalog: every service is "available".
        def service_available(cls, context):
            return True, None
        resource.Resource.is_service_available = classmethod(
            service_available)

        # 2. Client-backed custom constraints are skipped and recorded. A
        #    constraint is client-backed when its class keeps the base
        #    BaseCustomConstraint.validate (which calls validate_with_client);
        #    the offline ones (net_cidr, ip_addr, dns_name, ...) override
        #    validate and keep running for real.
        base_validate = constraints.BaseCustomConstraint.validate
        original_is_valid = constraints.CustomConstraint._is_valid

        def is_valid(self, value, schema, context):
            impl = self.custom_constraint
            if impl is not None and type(impl).validate is base_validate:
                engine._record_skip(self.name, value)
                return True
            return original_is_valid(self, value, schema, context)
        constraints.CustomConstraint._is_valid = is_valid

        # 3. Remember where we are (resource, property, parameter) so that a
        #    skipped constraint can be reported with its location.
        def located(original):
            def validate(self):
                with engine._location(resource=self.name,
                                      strict=self.stack.strict_validate):
                    return original(self)
            return validate
        for res_cls in [resource.Resource] + list(
                _subclasses(resource.Resource)):
            if "validate" in vars(res_cls):
                res_cls.validate = located(vars(res_cls)["validate"])

        original_param_validate = self.parameters.Parameter.validate

        def param_validate(self, validate_value=True, context=None):
            with engine._location(parameter=self.name):
                return original_param_validate(self, validate_value, context)
        self.parameters.Parameter.validate = param_validate

        from heat.engine import properties
        original_get_value = properties.Property.get_value

        def prop_get_value(self, value, validate=False, translation=None):
            with engine._location(prop=self.name):
                return original_get_value(self, value, validate, translation)
        properties.Property.get_value = prop_get_value

        # 4. Heat's internal RPC: no stack exists yet, so every lookup is
        #    empty and anything that would act on a stack is refused.
        stack_resource.StackResource.rpc_client = (
            lambda self: _OfflineRpcClient())

        # 5. Clients: nothing may reach a cloud. Creating any API client
        #    raises OfflineLookup, which every client plugin treats as "not
        #    found" -- the answer Heat itself tolerates for things that are
        #    created later in the same stack. Each attempt is recorded.
        from heat.engine import clients
        from heat.engine.clients import client_plugin
        original_client_plugin = clients.OpenStackClients.client_plugin

        def offline_client_plugin(self, name):
            plugin = original_client_plugin(self, name)
            if not getattr(plugin, "_hotk8s_offline", False):
                plugin._create = _refuse_client(engine, name)
                plugin._hotk8s_offline = True
            return plugin
        clients.OpenStackClients.client_plugin = offline_client_plugin

        def patch_not_found(cls):
            original = cls.is_not_found

            def is_not_found(self, ex):
                return isinstance(ex, OfflineLookup) or original(self, ex)
            cls.is_not_found = is_not_found
        patch_not_found(client_plugin.ClientPlugin)
        for plugin_cls in _subclasses(client_plugin.ClientPlugin):
            if "is_not_found" in vars(plugin_cls):
                patch_not_found(plugin_cls)

        # Nova feature checks ask the API for its newest microversion; answer
        # with the newest one this novaclient knows (a current cloud), and
        # Nova's absolute limits with Nova's default quotas.
        from heat.engine.clients.os import nova as nova_plugin
        import novaclient
        nova_max = str(novaclient.API_MAX_VERSION.get_string())
        self.assumptions = [
            "nova max microversion %s (newest known to novaclient)" % nova_max,
            "nova absolute limits: Nova's default quotas",
        ]
        nova_plugin.NovaClientPlugin.get_max_microversion = (
            lambda self: nova_max)
        nova_plugin.NovaClientPlugin.absolute_limits = lambda self: dict(
            NOVA_DEFAULT_LIMITS)

        # 6. OS::Heat::Stack asks a (possibly remote) Heat API to validate
        #    its template; here its own properties are validated and the
        #    template is validated locally as one more nested stack.
        from heat.engine.resources.openstack.heat import remote_stack
        self.remote_stack = remote_stack

        def remote_validate(self):
            resource.Resource.validate(self)
            engine._record_lookup("heat")
        remote_stack.RemoteStack.validate = located(remote_validate)

        # 7. A template resource whose file the client did not send would be
        #    downloaded by the engine; offline there is nothing to fetch.
        from heat.common import urlfetch

        def no_fetch(url, allowed_schemes=("http", "https")):
            raise urlfetch.URLFetchError(
                "offline validation: %s was not sent by the client and "
                "cannot be fetched" % url)
        urlfetch.get = no_fetch

    def context(self):
        """A project member's request context; nothing behind it is real."""
        return self.heat_context.RequestContext(
            user_id="hotk8s-user", project_id="hotk8s-project",
            project_name="hotk8s", username="hotk8s-user",
            password="offline", auth_token="offline-token",
            roles=["member", "reader"], is_admin=False,
            auth_url="http://keystone.invalid/v3",
            region_name="RegionOne", overwrite=False)

    def placeholder(self, name, schema, as_parameter):
        """A value of the schema's type that meets its offline-checkable
        constraints (allowed values, range, length, modulo, net_cidr...)."""
        C = self.constraints
        kind = str(schema.type).lower()
        allowed = low = high = min_len = step = offset = sample = None
        for c in schema.constraints:
            if isinstance(c, C.AllowedValues):
                allowed = list(c.allowed)
            elif isinstance(c, C.Length):
                min_len = c.min
            elif isinstance(c, C.Range):
                low, high = c.min, c.max
            elif isinstance(c, C.Modulo):
                step, offset = c.step, c.offset
            elif isinstance(c, C.CustomConstraint):
                sample = OFFLINE_SAMPLES.get(c.name, sample)
        if allowed:
            return allowed[0]
        if kind in ("number", "integer"):
            value = low if low is not None else (
                min(1, high) if high is not None else 1)
            if step:
                value = offset if offset is not None else 0
            return value
        if kind == "boolean":
            return False
        if kind in ("json", "map"):
            return {}
        if sample is None and ADDRESS_NAME.search(str(name)):
            # an address handed in from the parent (a port's fixed IP): Heat
            # checks it as an IP where the member uses it, so use one
            sample = OFFLINE_SAMPLES["ip_addr"]
        text = sample or "placeholder-%s" % name
        if min_len and len(text) < min_len:
            text += "x" * (min_len - len(text))
        if kind in ("commadelimitedlist", "list"):
            # one item per possible group member: a member picks its own
            # item by %index% (`get_param: [list, index]`)
            items = [text] * LIST_PLACEHOLDER_ITEMS
            return ",".join(items) if as_parameter else items
        return text

    @contextlib.contextmanager
    def _location(self, **where):
        stack = getattr(self._tls, "where", None)
        if stack is None:
            stack = self._tls.where = []
        stack.append(where)
        try:
            yield
        finally:
            stack.pop()

    def _record(self, sink_name, entry):
        """Record a check that could not run offline, with its location.

        Heat also validates nested stacks non-strictly from their parent;
        only the strict passes (the ones this harness runs per file) are
        recorded, so that every record names the right file."""
        sink = getattr(self._tls, sink_name, None)
        if sink is None:
            return
        for where in getattr(self._tls, "where", None) or []:
            for key, val in where.items():
                if key == "strict":
                    if not val:
                        return
                elif key == "prop":
                    entry.setdefault("property", val)
                else:
                    entry[key] = val
        entry["file"] = getattr(self._tls, "file", None)
        key = json.dumps(entry, sort_keys=True)
        if key not in sink:
            sink[key] = entry

    def _record_skip(self, name, value):
        self._record("skipped", {"constraint": name,
                                 "value": _jsonable(value)})

    def _record_lookup(self, client):
        self._record("lookups", {"client": client})

    # -- one job ------------------------------------------------------------

    def validate_job(self, job):
        return _Job(self, job).run()


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


# Nova's default quotas (nova.conf [quota]), used as absolute limits.
NOVA_DEFAULT_LIMITS = {
    "maxServerMeta": 128,
    "maxPersonality": 5,
    "maxPersonalitySize": 10240,
    "maxTotalKeypairs": 100,
}


class OfflineLookup(Exception):
    """Raised instead of creating an API client; plugins see "not found"."""


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _refuse_client(engine, name):
    def create(*args, **kwargs):
        engine._record_lookup(name)
        raise OfflineLookup(
            "offline validation: the %s API is not reachable, this check "
            "needs a cloud" % name)
    return create


class _OfflineRpcClient(object):
    """Stands in for heat.rpc.client.EngineClient: no stack exists yet."""

    def list_stack_resources(self, *args, **kwargs):
        return []

    def show_stack(self, *args, **kwargs):
        return []

    @contextlib.contextmanager
    def ignore_error_by_name(self, name):
        yield

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise RuntimeError("offline validation: Heat RPC %s() is not "
                               "available" % name)
        return refuse


# ---------------------------------------------------------------------------
# One validation job: a root template, environments and parameters
# ---------------------------------------------------------------------------

def _url_to_path(url):
    if isinstance(url, str) and url.startswith("file://"):
        from urllib import parse, request
        return request.url2pathname(parse.urlparse(url).path)
    return url


class _Job(object):

    def __init__(self, engine, job):
        self.e = engine
        self.template_path = job.get("template")
        self.env_paths = list(job.get("environments") or [])
        self.user_params = {str(k): v for k, v in
                            (job.get("parameters") or {}).items()}
        self.all_members = bool(job.get("allMembers"))
        self.name = job.get("stackName") or "hotk8s-validate"
        self.timeout = job.get("timeoutMinutes")
        self.templates = []
        self.skipped = {}
        self.lookups = {}
        self.placeholders = []
        self.request_bytes = None

    # -- input, exactly as the client gathers it ----------------------------

    def _client_request(self):
        tu = self.e.template_utils
        if not self.template_path:
            raise HarnessError("no root template given")
        for path in [self.template_path] + self.env_paths:
            if not os.path.isfile(path):
                raise HarnessError("file not found: %s" % path)
        try:
            tpl_files, template = tu.process_template_path(
                self.template_path, object_request=None, fetch_child=True)
            env_files_list = []
            env_files, env = tu.process_multiple_environments_and_files(
                env_paths=self.env_paths, env_list_tracker=env_files_list,
                fetch_env_files=True)
        except Exception as ex:
            # heatclient's own verdict: unreadable file, bad YAML, ...
            raise ClientRejected(_message(ex))
        fields = {
            "stack_name": self.name,
            "disable_rollback": True,
            "parameters": dict(self.user_params),
            "template": template,
            "files": dict(list(tpl_files.items()) + list(env_files.items())),
            "environment": env,
        }
        if env_files_list:
            fields["environment_files"] = env_files_list
        if self.timeout:
            fields["timeout_mins"] = self.timeout
        # The client sends the body as JSON (jsonutils.dumps) and the API
        # parses it back with heat-api's own deserializer, which refuses a
        # body over max_json_body_size: get_file contents read as bytes become
        # str here, as they do on a real cloud.
        raw = self.e.jsonutils.dumps(fields)
        self.request_bytes = len(raw.encode("utf-8"))
        try:
            return self.e.wsgi.JSONRequestDeserializer().from_json(raw)
        except self.e.exception.RequestLimitExceeded as ex:
            raise ClientRejected("heat-api: %s" % _message(ex))

    # -- the API and engine side --------------------------------------------

    def _engine_params(self, body):
        """heat-api's InstantiationData.environment(): with environment files
        the client-merged environment is ignored; the engine merges the
        files itself."""
        env_fmt = self.e.environment_format
        env = {}
        if "environment" in body and not body.get("environment_files"):
            raw = body["environment"]
            env = (env_fmt.validate(raw) if isinstance(raw, dict)
                   else env_fmt.parse(raw))
        env_fmt.default_for_missing(env)
        env[env_fmt.PARAMETERS].update(body.get("parameters", {}))
        return env

    def _supply_placeholders(self, tmpl, params):
        env_fmt = self.e.environment_format
        given = params[env_fmt.PARAMETERS]
        defaults = params[env_fmt.PARAMETER_DEFAULTS]
        for name, schema in tmpl.param_schemata().items():
            if name in given or name in defaults or \
                    schema.default is not None:
                continue
            value = self.e.placeholder(name, schema, as_parameter=True)
            given[name] = value
            self.placeholders.append({"name": name,
                                      "type": _type_name(schema),
                                      "value": value})

    def _root_stack(self, body):
        e = self.e
        params = self._engine_params(body)
        files = body.get("files", {})
        tmpl = e.heat_template.Template(body["template"], files=files)
        e.environment_util.merge_environments(
            body.get("environment_files"), files, params,
            tmpl.all_param_schemata(files))
        self._supply_placeholders(tmpl, params)
        tmpl.env = e.environment.Environment(params)
        # EngineService._validate_template: the document's own structure and
        # the resource count limit.
        try:
            tmpl.validate()
        except Exception as ex:
            raise e.exception.StackValidationFailed(message=str(ex))
        limit = e.cfg.CONF.max_resources_per_stack
        count = len(tmpl[tmpl.RESOURCES])
        if limit != -1 and count > limit:
            raise e.exception.RequestLimitExceeded(
                message=e.exception.StackResourceLimitExceeded.msg_fmt)
        return e.heat_stack.Stack(self.e.context(), self.name, tmpl,
                                  strict_validate=True)

    # -- validation ---------------------------------------------------------

    def _entry(self, file, role, resource_path):
        entry = {"file": _url_to_path(file), "role": role,
                 "resource": resource_path, "ok": True, "errors": [],
                 "unresolvedInputs": [], "seconds": 0.0}
        self.templates.append(entry)
        return entry

    def _fail(self, entry, ex):
        entry["errors"].append(_message(ex))
        entry["ok"] = False

    def _validate_stack(self, stack, entry):
        """Stack.validate() as heat-engine runs it before a create, then the
        resource-type policy a project member is held to."""
        started = time.monotonic()
        self.e._tls.file = entry["file"]
        try:
            stack.validate()
            self.e.policy.ResourceEnforcer().enforce_stack(
                stack, is_registered_policy=True)
        except Exception as ex:
            self._fail(entry, ex)
        finally:
            entry["seconds"] = round(entry["seconds"] +
                                     time.monotonic() - started, 4)
        return entry["ok"]

    def _unresolved_keys(self, snippet):
        """Property names whose value needs a resource of this stack that
        does not exist yet (get_resource / get_attr): unknown until create."""
        Function = self.e.function.Function
        if not isinstance(snippet, collections.abc.Mapping):
            return []
        keys = []
        for key, value in snippet.items():
            if isinstance(value, Function) or isinstance(
                    value, (collections.abc.Mapping, list)):
                deps = list(self.e.function.dependencies(value))
                if deps:
                    keys.append((key, sorted({d.name for d in deps})))
        return keys

    def _member_map_output(self, value):
        """The output name when the value is a group's per-member map,
        ``get_attr: [group, attributes, OUTPUT]``; else None."""
        if not isinstance(value, self.e.function.Function):
            return None
        args = getattr(value, "args", None)
        if (getattr(value, "fn_name", None) == "get_attr" and
                isinstance(args, list) and len(args) == 3 and
                args[1] == "attributes" and isinstance(args[2], str)):
            return args[2]
        return None

    def _stand_in(self, entry, key, schema, deps, as_parameter, raw=None):
        output = self._member_map_output(raw)
        if output is not None:
            # a group's attributes map: member name -> that member's output,
            # one entry per possible member (each looks its own name up)
            item = self.e.placeholder(output, self.e.constraints.Schema(
                self.e.constraints.Schema.STRING), as_parameter=False)
            value = {str(i): item for i in range(LIST_PLACEHOLDER_ITEMS)}
        else:
            value = self.e.placeholder(key, schema, as_parameter=as_parameter)
        entry["unresolvedInputs"].append({
            "name": key, "type": _type_name(schema), "value": value,
            "dependsOn": deps})
        return value

    def _children(self, stack):
        try:
            found = list(stack.resources.values())
        except Exception:
            return []  # already reported by this stack's own validation
        kinds = (self.e.stack_resource.StackResource,
                 self.e.remote_stack.RemoteStack)
        return sorted((r for r in found if isinstance(r, kinds)),
                      key=lambda r: r.name)

    def _walk(self, stack, path):
        """Validate every nested stack that creating ``stack`` would make."""
        RG = self.e.resource_group.ResourceGroup
        ASG = self.e.autoscaling_group.AutoScalingResourceGroup
        for res in self._children(stack):
            res_path = "%s/%s" % (path, res.name)
            if isinstance(res, RG):
                self._resource_group(res, res_path)
            elif isinstance(res, ASG):
                self._autoscaling_group(res, res_path)
            elif isinstance(res, self.e.remote_stack.RemoteStack):
                self._remote_stack(res, res_path)
            else:
                self._nested(res, res_path, "nested")

    def _remote_stack(self, res, res_path):
        """OS::Heat::Stack: its template, validated here instead of by the
        Heat API it would be sent to."""
        e = self.e
        entry = self._entry("%s<%s>" % (res_path, res.type()), "nested",
                            res_path)
        try:
            props = res.properties
            raw = e.template_format.parse(props[res.TEMPLATE])
            tmpl = e.heat_template.Template(raw, files=res.stack.t.files)
            params = dict(props[res.PARAMETERS] or {})
            schemata = tmpl.param_schemata()
            for key, deps in self._unresolved_keys(
                    props.data.get(res.PARAMETERS)):
                if key in schemata:
                    params[key] = self._stand_in(entry, key, schemata[key],
                                                 deps, True)
            tmpl.env = e.environment.get_child_environment(res.stack.env,
                                                           params)
            child = e.heat_stack.Stack(
                e.context(), "%s-%s" % (res.stack.name, res.name), tmpl,
                strict_validate=True,
                nested_depth=res.stack.nested_depth + 1)
        except Exception as ex:
            self._fail(entry, ex)
            return
        if self._validate_stack(child, entry):
            self._walk(child, res_path)

    def _nested(self, res, res_path, role):
        """A template resource (or OS::Heat::Stack) and its own stack."""
        TR = self.e.template_resource.TemplateResource
        file = res.template_url if isinstance(res, TR) else \
            "%s<%s>" % (res_path, res.type())
        entry = self._entry(file, role, res_path)
        try:
            child_tmpl = res.child_template()
            params = res.child_params()
            if isinstance(res, TR):
                schemata = self.e.heat_template.Template(
                    child_tmpl, files=res.stack.t.files).param_schemata()
                for key, deps in self._unresolved_keys(res.properties.data):
                    if key in schemata:
                        params[key] = self._stand_in(
                            entry, key, schemata[key], deps, True)
            child = res._parse_nested_stack(
                "%s-%s" % (res.stack.name, res.name), child_tmpl, params)
            child.strict_validate = True
        except Exception as ex:
            self._fail(entry, ex)
            return
        if self._validate_stack(child, entry):
            self._walk(child, res_path)

    def _group_stack(self, res, make_template):
        return res._parse_nested_stack(
            "%s-%s" % (res.stack.name, res.name), make_template(),
            res.child_params())

    def _resource_group(self, res, res_path):
        """OS::Heat::ResourceGroup: its own stack holds one resource per
        member, defined by resource_def."""
        size = None
        try:
            size = res.get_size() or 0
            names = list(res._resource_names(
                max(size, 1) if self.all_members else 1))
            definition = res.get_resource_def()
            rdef = res.properties.data.get(res.RESOURCE_DEF)
            snippet = (rdef.get(res.RESOURCE_DEF_PROPERTIES)
                       if isinstance(rdef, collections.abc.Mapping) else None)
        except Exception as ex:
            self._fail(self._entry("%s<resource_def>" % res_path, "member",
                                   "%s/0" % res_path), ex)
            return

        def build(stand_ins):
            if not stand_ins:
                return res._assemble_nested(names)
            patched = dict(definition)
            props = dict(definition.get(res.RESOURCE_DEF_PROPERTIES) or {})
            props.update(stand_ins)
            patched[res.RESOURCE_DEF_PROPERTIES] = props
            res.get_resource_def = lambda include_all=False: patched
            try:
                return res._assemble_nested(names)
            finally:
                del res.get_resource_def
        note = None
        if size == 0:
            note = ("count is 0: the member definition is validated as if "
                    "the group had one member")
        self._group(res, res_path, snippet, build, note)

    def _autoscaling_group(self, res, res_path):
        """OS::Heat::AutoScalingGroup: validated with one member."""
        try:
            rdef = res.properties.data.get(res.RESOURCE)
            snippet = (rdef.get("properties")
                       if isinstance(rdef, collections.abc.Mapping) else None)
            resolved = res.properties[res.RESOURCE]
        except Exception as ex:
            self._fail(self._entry("%s<resource>" % res_path, "member",
                                   "%s/0" % res_path), ex)
            return
        interpreter = self.e.autoscaling_group.HOTInterpreter
        rsrc_defn = self.e.rsrc_defn

        def build(stand_ins):
            if not stand_ins:
                return res._create_template(1)
            patched = dict(resolved)
            props = dict(resolved.get("properties") or {})
            props.update(stand_ins)
            patched["properties"] = props

            def definition():
                args = dict(interpreter()._rsrc_defn_args(None, "member",
                                                          patched))
                return rsrc_defn.ResourceDefinition(None, **args)
            res._get_resource_definition = definition
            try:
                return res._create_template(1)
            finally:
                del res._get_resource_definition
        self._group(res, res_path, snippet, build, None)

    def _group(self, res, res_path, snippet, build, note):
        """Validate the group's stack (each member definition against the
        member type) and then each member's own stack.

        Values in the member definition that need this stack's resources
        (get_resource / get_attr) are unknown before the create; they get
        placeholders of the member property's type, listed in the entry."""
        try:
            first = self._group_stack(res, lambda: build({}))
        except Exception as ex:
            self._fail(self._entry("%s<member>" % res_path, "member",
                                   "%s/0" % res_path), ex)
            return
        unresolved = self._unresolved_keys(snippet)
        TR = self.e.template_resource.TemplateResource
        # Members in index order; scaling groups name members randomly, so
        # the report names them by position.
        def in_order(stack):
            return sorted(stack.resources.values(),
                          key=lambda r: (len(r.name), r.name))
        for position, member in enumerate(in_order(first)):
            file = member.template_url if isinstance(member, TR) else \
                "%s<%s>" % (res_path, member.type())
            entry = self._entry(file, "member", "%s/%d" % (res_path,
                                                           position))
            if note:
                entry["note"] = note
            try:
                group = first
                if unresolved:
                    stand_ins = {}
                    for key, deps in unresolved:
                        prop = member.properties.props.get(key)
                        if prop is not None:
                            stand_ins[key] = self._stand_in(
                                entry, key, prop.schema, deps, False,
                                snippet.get(key))
                    group = self._group_stack(res, lambda: build(stand_ins))
                    member = in_order(group)[position]
                group.strict_validate = True
            except Exception as ex:
                self._fail(entry, ex)
                continue
            if self._validate_stack(group, entry) and isinstance(member, TR):
                self._member_stack(member, entry, entry["resource"])

    def _member_stack(self, member, entry, member_path):
        try:
            child = member._parse_nested_stack(
                "%s-%s" % (member.stack.name, member.name),
                member.child_template(), member.child_params())
            child.strict_validate = True
        except Exception as ex:
            self._fail(entry, ex)
            return
        if self._validate_stack(child, entry):
            self._walk(child, member_path)

    def run(self):
        started = time.monotonic()
        self.e._tls.skipped = self.skipped
        self.e._tls.lookups = self.lookups
        try:
            try:
                body = self._client_request()
            except ClientRejected as ex:
                entry = self._entry(self.template_path, "root", self.name)
                self._fail(entry, "heatclient: %s" % ex)
                body = None
            if body is not None:
                root_entry = self._entry(
                    self.e.heatclient_utils.normalise_file_path_to_url(
                        self.template_path), "root", self.name)
                try:
                    root = self._root_stack(body)
                except Exception as ex:
                    self._fail(root_entry, ex)
                    root = None
                if root is not None and self._validate_stack(root,
                                                             root_entry):
                    self._walk(root, self.name)
        finally:
            self.e._tls.skipped = None
            self.e._tls.lookups = None
        return {
            "ok": all(t["ok"] for t in self.templates),
            "heatVersion": self.e.version,
            "template": self.template_path,
            "environments": self.env_paths,
            "templates": self.templates,
            "skippedConstraints": _sorted_records(self.skipped),
            "skippedLookups": _sorted_records(self.lookups),
            "placeholderParameters": self.placeholders,
            "requestBytes": self.request_bytes,
            "assumptions": list(self.e.assumptions),
            "seconds": round(time.monotonic() - started, 4),
        }


def _sorted_records(records):
    return sorted(records.values(), key=lambda s: json.dumps(s,
                                                             sort_keys=True))


def _type_name(schema):
    return str(schema.type).lower()


def _message(ex):
    text = str(ex)
    if not text:
        text = type(ex).__name__
    return text


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def _parse_args(argv):
    p = argparse.ArgumentParser(
        prog="heat_validate.py",
        description="Validate a HOT stack offline with the real Heat engine.")
    p.add_argument("template", nargs="?", help="root template file")
    p.add_argument("-e", "--environment", action="append", default=[],
                   metavar="ENV", help="environment file (repeatable)")
    p.add_argument("--param", action="append", default=[],
                   metavar="NAME=VALUE", help="stack parameter (repeatable)")
    p.add_argument("--batch", metavar="JOBS",
                   help="JSON file (or - for stdin) with a list of jobs")
    p.add_argument("--all-members", action="store_true",
                   help="validate every group member, not only the first")
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    args = p.parse_args(argv)
    if bool(args.batch) == bool(args.template):
        p.error("give either a root template or --batch JOBS")
    return args


def _params(pairs):
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise HarnessError("--param expects NAME=VALUE, got %r" % pair)
        name, value = pair.split("=", 1)
        params[name] = value
    return params


def _load_jobs(source):
    try:
        text = sys.stdin.read() if source == "-" else open(source).read()
        jobs = json.loads(text)
    except (OSError, ValueError) as ex:
        raise HarnessError("cannot read batch jobs from %s: %s"
                           % (source, ex))
    if not isinstance(jobs, list) or not all(
            isinstance(j, dict) and isinstance(j.get("template"), str)
            for j in jobs):
        raise HarnessError("batch jobs must be a JSON list of objects with "
                           "a \"template\" string")
    return jobs


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    indent = 2 if args.pretty else None
    try:
        if args.batch:
            jobs = _load_jobs(args.batch)
        else:
            jobs = [{"template": args.template,
                     "environments": args.environment,
                     "parameters": _params(args.param),
                     "allMembers": args.all_members}]
        # Unreadable input is reported before paying for Heat's import.
        missing = [_missing_files(job) for job in jobs]
        engine = Engine() if not all(missing) else None
        reports = [_job_failure(engine, job, "file not found: " +
                                ", ".join(gone)) if gone else
                   _run_job(engine, job)
                   for job, gone in zip(jobs, missing)]
    except HarnessError as ex:
        _fail_harness(str(ex))
    except Exception:
        _fail_harness("internal error:\n" + traceback.format_exc())

    harness_errors = [r["harnessError"] for r in reports
                      if "harnessError" in r]
    if args.batch:
        out = {"ok": all(r["ok"] for r in reports),
               "heatVersion": engine.version if engine
               else Engine.version_only(),
               "importSeconds": round(engine.import_seconds, 4)
               if engine else 0.0,
               "reports": reports}
    else:
        out = reports[0]
        out["importSeconds"] = round(engine.import_seconds, 4) \
            if engine else 0.0
    sys.stdout.write(json.dumps(out, indent=indent) + "\n")
    for message in harness_errors:
        sys.stderr.write("heat_validate: %s\n" % message)
    if harness_errors:
        return EXIT_HARNESS
    return EXIT_OK if out["ok"] else EXIT_REJECTED


def _missing_files(job):
    paths = [job.get("template")] + list(job.get("environments") or [])
    return [p for p in paths if isinstance(p, str) and not os.path.isfile(p)]


def _run_job(engine, job):
    """One job's report; a harness problem is reported for that job only."""
    try:
        return engine.validate_job(job)
    except HarnessError as ex:
        return _job_failure(engine, job, str(ex))
    except Exception:
        return _job_failure(engine, job,
                            "internal error:\n" + traceback.format_exc())


def _job_failure(engine, job, message):
    return {"ok": False,
            "heatVersion": engine.version if engine else Engine.version_only(),
            "template": job.get("template"),
            "environments": list(job.get("environments") or []),
            "harnessError": message, "templates": [],
            "skippedConstraints": [], "skippedLookups": [],
            "placeholderParameters": [], "assumptions": []}


if __name__ == "__main__":
    sys.exit(main())
