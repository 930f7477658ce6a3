#!/usr/bin/python3
"""Dump the resource and template schema of the installed OpenStack Heat engine.

Run with Debian's interpreter (the one that sees python3-heat):

    /usr/bin/python3 src/heat/snapshot/dump_heat_schema.py [OUTPUT.json]

The default output is ``heat-schema.json`` next to this script. The output is
deterministic: keys are sorted, lists that Heat keeps in dicts are sorted, and
nothing depends on the machine (no paths, no timestamps). Running it twice
gives byte-identical files, so the committed snapshot only changes when Heat
does.

What is recorded, per resource type registered in Heat's global environment:

* properties: type, required, default, description, constraints (Heat's own
  serialisation: length/range {min,max}, modulo {step,offset},
  allowed_values, allowed_pattern, custom_constraint name, and the
  constraint description), update_allowed, immutable, implemented,
  support status, nested map/list schemas (list items under ``"*"``);
* attributes with their type and description (including Heat's base
  ``show`` attribute, which every resource has);
* update_policy schema, support status, the service client and the Keystone
  service extension the type needs, and whether Heat's default policy makes
  the type admin-only (``heat.policies.resource_types``).

And per HOT template version (``heat.templates`` entry points): the sections,
the keys allowed in a resource and an output, the deletion policies, the
parameter types, keys and constraint kinds, the intrinsic functions (with the
removed CFN functions marked ``removed``) and the condition functions.
"""

import fnmatch
import inspect
import json
import logging
import os
import sys

HEAT_VERSION_EXPECTED = "19.0.0"


def _quiet_logging():
    # Heat logs every hidden/unsupported type while loading the registry;
    # that is noise for a dump script. Errors still go to stderr.
    logging.basicConfig(level=logging.ERROR)
    for name in ("heat", "stevedore", "oslo_policy", "oslo_messaging"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _heat_version():
    try:
        from importlib import metadata
        return metadata.version("openstack-heat")
    except Exception:  # pragma: no cover - depends on packaging
        from heat import version
        return version.version_info.release_string()


def _plain(value):
    """Convert Heat values (tuples, lazy i18n strings, mappings) to JSON data."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        if isinstance(value, (set, frozenset)):
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return items
    return str(value)


def _text(value):
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _support(status):
    if status is None:
        return {"status": "SUPPORTED"}
    out = {"status": status.status}
    if status.version:
        out["version"] = str(status.version)
    if status.message:
        out["message"] = _text(status.message)
    if status.previous_status is not None:
        out["previousStatus"] = _support(status.previous_status)
    return out


def _constraint(c):
    # Heat serialises a constraint as {<kind>: <params>, description?}; keep
    # that shape, it is what HOT parameter constraints look like too.
    raw = _plain(dict(c))
    kind = [k for k in raw if k != "description"][0]
    out = {"kind": kind, "value": raw[kind]}
    if "description" in raw:
        out["description"] = _text(raw["description"])
    return out


def _property(schema):
    from heat.engine import properties
    if not isinstance(schema, properties.Schema):
        schema = properties.Schema.from_legacy(schema)
    out = {
        "type": schema.type.lower(),
        "required": bool(schema.required),
        "updateAllowed": bool(schema.update_allowed),
        "immutable": bool(schema.immutable),
        "implemented": bool(schema.implemented),
        "supportStatus": _support(schema.support_status),
    }
    if schema.description is not None:
        out["description"] = _text(schema.description)
    if schema.default is not None:
        out["default"] = _plain(schema.default)
    if schema.constraints:
        out["constraints"] = [_constraint(c) for c in schema.constraints]
    if schema.schema is not None:
        nested = schema.schema
        if schema.type == properties.Schema.LIST:
            # AnyIndexDict: the same schema for every list item
            out["items"] = _property(nested["*"])
        else:
            out["schema"] = {str(n): _property(s) for n, s in nested.items()}
    return out


def _attribute(schema):
    from heat.engine import attributes
    schema = attributes.Schema.from_attribute(schema)
    out = {"supportStatus": _support(schema.support_status)}
    out["type"] = schema.type.lower() if schema.type else "any"
    if schema.description is not None:
        out["description"] = _text(schema.description)
    return out


def _admin_rules():
    from heat.policies import resource_types
    rules = []
    for rule in resource_types.list_rules():
        pattern = rule.name.split(":", 1)[1]
        rules.append((pattern, rule.check_str))
    return rules


# Types that answer get_attr for names beyond their static schema. Read from
# Heat 19's sources: ResourceGroup.get_attribute and AutoScalingGroup's accept
# "resource.<index>[.<attr>]" (resource_group.py, autoscaling_group.py);
# software deployments expose the declared outputs of their config.
_DYNAMIC_ATTRIBUTES = {
    "OS::Heat::ResourceGroup": ["resource."],
    "OS::Heat::AutoScalingGroup": ["resource."],
    "OS::Heat::ResourceChain": ["resource."],
    "OS::Heat::SoftwareDeployment": ["*"],
    "OS::Heat::SoftwareDeploymentGroup": ["*"],
    "OS::Heat::StructuredDeployment": ["*"],
    "OS::Heat::StructuredDeploymentGroup": ["*"],
    "OS::Heat::SoftwareDeployments": ["*"],
    "OS::Heat::StructuredDeployments": ["*"],
}


def _resource(name, cls, admin_rules):
    from heat.engine import support
    props = {}
    for pname, pschema in cls.properties_schema.items():
        props[str(pname)] = _property(pschema)
    attrs = {}
    for aname, aschema in list(cls.attributes_schema.items()) + list(
            cls.base_attributes_schema.items()):
        attrs[str(aname)] = _attribute(aschema)
    update_policy = {}
    for uname, uschema in getattr(cls, "update_policy_schema", {}).items():
        update_policy[str(uname)] = _property(uschema)

    policy = None
    for pattern, check in admin_rules:
        if fnmatch.fnmatchcase(name, pattern):
            policy = check
    status = _support(cls.support_status)
    out = {
        "class": "%s:%s" % (cls.__module__, cls.__qualname__),
        "description": _text(inspect.getdoc(cls)) or None,
        "properties": props,
        "attributes": attrs,
        "supportStatus": status,
        "hidden": status["status"] == support.HIDDEN,
        "adminOnly": policy is not None and "admin" in policy,
        "policy": policy,
        "clientName": cls.default_client_name,
        "requiredServiceExtension": cls.required_service_extension,
        "entity": cls.entity,
    }
    if update_policy:
        out["updatePolicy"] = update_policy
    if name in _DYNAMIC_ATTRIBUTES:
        out["dynamicAttributes"] = _DYNAMIC_ATTRIBUTES[name]
    return {k: v for k, v in out.items() if v is not None}


def _param_constraint_kinds(param_cls):
    from heat.engine.hot import parameters as hot_params
    samples = {
        "length": {"min": 1},
        "range": {"min": 1},
        "modulo": {"step": 2, "offset": 1},
        "allowed_values": ["a"],
        "allowed_pattern": "a",
        "custom_constraint": "nova.flavor",
    }
    kinds = []
    for kind in hot_params.PARAM_CONSTRAINTS:
        if kind == "description":
            continue
        try:
            param_cls._constraint_from_def({kind: samples[kind]})
        except Exception:
            continue
        kinds.append(kind)
    return sorted(kinds)


def _function_entry(fn):
    from heat.engine import function
    from heat.engine.hot import functions as hot_funcs
    if fn is hot_funcs.Removed:
        status = "removed"
    elif fn is function.Invalid:
        status = "invalid"
    else:
        status = "supported"
    return {"status": status, "class": "%s:%s" % (fn.__module__, fn.__qualname__)}


def _templates():
    from stevedore import extension
    from heat.engine.hot import parameters as hot_params
    mgr = extension.ExtensionManager(namespace="heat.templates",
                                     invoke_on_load=False)
    by_class = {}
    for ext in mgr:
        key, _, version = ext.name.partition(".")
        if key != "heat_template_version":
            continue
        by_class.setdefault(ext.plugin, []).append(version)

    versions = {}
    for cls, names in by_class.items():
        dates = sorted(n for n in names if n[:1].isdigit())
        aliases = sorted(n for n in names if not n[:1].isdigit())
        if not dates:
            continue
        # One class may be registered for a date and its release name; the
        # earliest date is the canonical version, the rest are aliases.
        date = dates[0]
        aliases = sorted(dates[1:] + aliases)
        param_cls = cls.param_schema_class
        sections = [s for s in cls.SECTIONS if not s.startswith("__")]
        entry = {
            "class": "%s:%s" % (cls.__module__, cls.__qualname__),
            "aliases": aliases,
            "sections": sorted(sections),
            "resourceKeys": sorted(cls._RESOURCE_KEYS),
            "outputKeys": sorted(cls.OUTPUT_KEYS),
            "deletionPolicies": sorted(cls.deletion_policies),
            "functions": {n: _function_entry(f)
                          for n, f in cls.functions.items()},
            "conditionFunctions": {n: _function_entry(f) for n, f in
                                   getattr(cls, "condition_functions",
                                           {}).items()},
            "parameter": {
                "types": sorted(param_cls.TYPES),
                "keys": sorted(param_cls.PARAMETER_KEYS),
                "constraintKinds": _param_constraint_kinds(param_cls),
            },
            "pseudoParameters": sorted(
                hot_params.HOTParameters.PSEUDO_PARAMETERS),
        }
        versions[date] = entry
    return versions


def dump():
    _quiet_logging()
    from heat.engine import resources
    env = resources.global_env()
    admin_rules = _admin_rules()
    types = {}
    for name, info in env.registry._registry.items():
        if not hasattr(info, "get_class"):
            continue  # the nested "resources" map of per-resource overrides
        cls = info.get_class()
        types[str(name)] = _resource(str(name), cls, admin_rules)
    constraints = sorted(env.constraints.keys()) if hasattr(
        env, "constraints") else []
    return {
        "heatVersion": _heat_version(),
        "source": "heat.engine.resources.global_env() of the installed "
                  "python3-heat; dumped by src/heat/snapshot/"
                  "dump_heat_schema.py",
        "customConstraints": constraints,
        "resourceTypes": types,
        "templateVersions": _templates(),
    }


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "heat-schema.json")
    data = dump()
    if data["heatVersion"] != HEAT_VERSION_EXPECTED:
        sys.stderr.write("warning: dumping Heat %s; the project pins %s\n"
                         % (data["heatVersion"], HEAT_VERSION_EXPECTED))
    text = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    sys.stderr.write("wrote %s: %d resource types, %d HOT versions\n" % (
        out, len(data["resourceTypes"]), len(data["templateVersions"])))


if __name__ == "__main__":
    main(sys.argv)
