#!/usr/bin/python3
"""The local Heat twin's launcher: the fake cloud process and Heat's own heat-all process (heat-api and
heat-engine), on 127.0.0.1, with every file in one state directory.

  twin.py run --dir DIR [--options JSON] [--parent-pid PID]
      starts both processes, prints one JSON line {"ready": true, ...} on stdout when heat-api answers
      and the engine serves RPC, and runs until SIGTERM/SIGINT (or until PARENT-PID is gone); then
      stops both and exits.
  twin.py start --dir DIR [--options JSON]    `run` in the background (a new session); prints the ready line
  twin.py stop --dir DIR                      stops a twin started with `start`
  twin.py status --dir DIR                    prints the ready line if the twin runs, exit 1 if not
  twin.py env --dir DIR                       prints `export OS_...` lines for the openstack CLI

Options (JSON object, all optional):
  delays            {name: seconds} for the fake cloud's state machines and the nodes (cloud/core.py)
  tokenLifetimeSec  Keystone token lifetime (3600)
  controlFile       the nodes' control file (default DIR/control.json)
  nodeModel         "module:Class" of a node model (see cloud/nodes.py); module found on PYTHONPATH
  catalogue         path of a JSON file merged into the fake catalogue (flavors, images, keypairs, networks)
  heatConfig        {section: {option: value}} added to heat.conf (e.g. {"DEFAULT": {"max_resources_per_stack": 2000}})
  debug             true: Heat logs at DEBUG
"""

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's interpreter: python3-heat and the clients live there
HEAT_MIGRATIONS = "/usr/lib/python3/dist-packages/heat/db/sqlalchemy/migrate_repo/versions"
SCHEMA_CACHE = os.environ.get("HOTK8S_TWIN_CACHE") or os.path.join(HERE, "..", "..", "..", ".cache", "twin-schema")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_json(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8") or "null")


def wait_for(what, fn, deadline, proc=None, log=None):
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = ""
            if log and os.path.exists(log):
                with open(log, encoding="utf-8", errors="replace") as f:
                    tail = "".join(f.readlines()[-30:])
            raise RuntimeError("%s: process exited with %s before it was ready\n%s" % (what, proc.returncode, tail))
        try:
            value = fn()
            if value:
                return value
        except Exception as ex:  # not ready yet
            last = ex
        time.sleep(0.05)
    raise RuntimeError("%s: not ready in time (%s)" % (what, last))


def heat_conf(d, heat_port, cloud_url, creds, options):
    sections = {
        "DEFAULT": {
            "transport_url": "fake:/",
            "host": "twin",
            "num_engine_workers": 1,
            "convergence_engine": True,
            "region_name_for_services": "RegionOne",
            "stack_user_domain_id": creds["stackDomainId"],
            "stack_domain_admin": creds["stackDomainAdmin"],
            "stack_domain_admin_password": creds["stackDomainAdminPassword"],
            "heat_stack_user_role": "heat_stack_user",
            "deferred_auth_method": "trusts",
            "log_dir": d,
            "log_file": "heat.log",
            "debug": bool(options.get("debug")),
            "use_stderr": False,
            # Tuned for tests, not for behaviour: the engine's periodic service report and the
            # guru meditation report are off; nothing else differs from Heat's defaults.
            "periodic_interval": 3600,
            "graceful_shutdown_timeout": 5,
        },
        "heat_all": {"enabled_services": "engine,api"},
        "heat_api": {"bind_host": "127.0.0.1", "bind_port": heat_port, "workers": 1},
        "paste_deploy": {"flavor": "noauth", "api_paste_config": os.path.join(HERE, "api-paste.ini")},
        "noauth": {"token_response": os.path.join(d, "noauth-token.json")},
        "database": {"connection": "sqlite:///" + os.path.join(d, "heat.sqlite"), "sqlite_synchronous": False},
        "clients_keystone": {"auth_uri": cloud_url + "/identity"},
        "trustee": {"auth_type": "password", "auth_url": cloud_url + "/identity", "username": "heat",
                    "password": creds["heatPassword"], "user_domain_id": "default"},
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    for section, values in (options.get("heatConfig") or {}).items():
        sections.setdefault(section, {}).update(values)
    lines = []
    for section, values in sections.items():
        lines.append("[%s]" % section)
        for k, v in values.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines.append("%s = %s" % (k, v))
        lines.append("")
    return "\n".join(lines)


class Twin(object):
    def __init__(self, d, options):
        self.dir = os.path.abspath(d)
        self.options = options
        self.procs = []
        self.ready = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        d = self.dir
        creds = {
            "adminPassword": secrets.token_hex(12),
            "heatPassword": secrets.token_hex(12),
            "stackDomainId": "heat-domain",
            "stackDomainAdmin": "heat_domain_admin",
            "stackDomainAdminPassword": secrets.token_hex(12),
        }
        heat_port = free_port()
        heat_url = "http://127.0.0.1:%d/v1/%%(tenant_id)s" % heat_port
        control = self.options.get("controlFile") or os.path.join(d, "control.json")
        if not os.path.exists(control):
            with open(control, "w", encoding="utf-8") as f:
                f.write("{}\n")
        cloud_config = {
            "credentials": creds,
            "heatUrl": heat_url,
            "heatDatabase": os.path.join(d, "heat.sqlite"),
            "delays": self.options.get("delays") or {},
            "tokenLifetimeSec": self.options.get("tokenLifetimeSec", 3600),
            "controlFile": control,
            "nodeModel": self.options.get("nodeModel"),
            "catalogue": self.options.get("catalogue"),
        }
        with open(os.path.join(d, "cloud-config.json"), "w", encoding="utf-8") as f:
            json.dump(cloud_config, f, indent=1)
        # The fake cloud keeps its state in memory: a twin always starts with an empty cloud and an empty Heat.
        for name in ("cloud-ready.json", "heat.sqlite", "heat.sqlite-wal", "heat.sqlite-shm", "actions.jsonl"):
            if os.path.exists(os.path.join(d, name)):
                os.unlink(os.path.join(d, name))
        started = time.monotonic()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])),
                   PYTHONDONTWRITEBYTECODE="1")
        cloud_log = os.path.join(d, "cloud.out")
        cloud = subprocess.Popen([PYTHON, "-m", "cloud.main", d], cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                                 stdout=open(cloud_log, "ab"), stderr=subprocess.STDOUT)
        self.procs.append(cloud)
        ready = wait_for("fake cloud", lambda: os.path.exists(os.path.join(d, "cloud-ready.json")) and json.load(
            open(os.path.join(d, "cloud-ready.json"), encoding="utf-8")), time.monotonic() + 30, cloud, cloud_log)
        cloud_url = "http://127.0.0.1:%d" % ready["port"]
        with open(os.path.join(d, "noauth-token.json"), "w", encoding="utf-8") as f:
            json.dump(http_json(cloud_url + "/_twin/noauth-token"), f)
        conf = os.path.join(d, "heat.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(heat_conf(d, heat_port, cloud_url, creds, self.options))
        heat_log = os.path.join(d, "heat.out")
        self._empty_database(conf, os.path.join(d, "heat.sqlite"), env, heat_log)
        heat = subprocess.Popen([PYTHON, os.path.join(HERE, "heat_main.py"), "serve", conf], env=env,
                                stdin=subprocess.DEVNULL, stdout=open(heat_log, "ab"), stderr=subprocess.STDOUT)
        self.procs.append(heat)
        api = "http://127.0.0.1:%d" % heat_port
        # heat-api answers, and the engine serves RPC (listing stacks goes through it).
        wait_for("heat-api and heat-engine", lambda: http_json(api + "/v1/admin/stacks") is not None,
                 time.monotonic() + 60, heat, os.path.join(d, "heat.log"))
        self.ready = {
            "ready": True,
            "dir": d,
            "pid": os.getpid(),
            "enginePid": heat.pid,
            "cloudPid": cloud.pid,
            "heatApi": api,
            "cloudUrl": cloud_url,
            "startSeconds": round(time.monotonic() - started, 3),
            "controlFile": control,
            "env": {
                "OS_AUTH_URL": cloud_url + "/identity/v3",
                "OS_AUTH_TYPE": "password",
                "OS_IDENTITY_API_VERSION": "3",
                "OS_USERNAME": "admin",
                "OS_PASSWORD": creds["adminPassword"],
                "OS_PROJECT_NAME": "admin",
                "OS_USER_DOMAIN_NAME": "Default",
                "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_REGION_NAME": "RegionOne",
                "OS_INTERFACE": "public",
            },
        }
        with open(os.path.join(d, "twin.json"), "w", encoding="utf-8") as f:
            json.dump(self.ready, f, indent=1)
        return self.ready

    def _empty_database(self, conf, target, env, log):
        """Heat's empty schema: `heat-manage db_sync` once per set of Heat migrations, then a copy of that file."""
        names = sorted(os.listdir(HEAT_MIGRATIONS)) if os.path.isdir(HEAT_MIGRATIONS) else []
        # heat_main.py's db-sync also edits the schema: its text is part of the key
        with open(os.path.join(HERE, "heat_main.py"), "rb") as f:
            names.append(hashlib.sha256(f.read()).hexdigest())
        key = hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]
        cached = os.path.join(SCHEMA_CACHE, "heat-schema-%s.sqlite" % key)
        if not os.path.exists(cached):
            os.makedirs(SCHEMA_CACHE, exist_ok=True)
            tmp = "%s.%d.tmp" % (cached, os.getpid())
            with open(conf, encoding="utf-8") as f:
                text = f.read().replace("sqlite:///" + target, "sqlite:///" + tmp)
            tmp_conf = tmp + ".conf"
            with open(tmp_conf, "w", encoding="utf-8") as f:
                f.write(text)
            try:
                subprocess.run([PYTHON, os.path.join(HERE, "heat_main.py"), "db-sync", tmp_conf], check=True, env=env,
                               stdin=subprocess.DEVNULL, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
                os.rename(tmp, cached)
            finally:
                for f in (tmp, tmp_conf, tmp + "-wal", tmp + "-shm"):
                    if os.path.exists(f):
                        os.unlink(f)
        shutil.copyfile(cached, target)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        # heat-all stops its services gracefully; nothing of a twin needs more than a few seconds
        deadline = time.monotonic() + 5
        for p in reversed(self.procs):
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        path = os.path.join(self.dir, "twin.json")
        if self.ready and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                mine = json.load(f).get("pid") == os.getpid()
            if mine:
                os.unlink(path)


def cmd_run(args):
    options = json.loads(args.options) if args.options else {}
    twin = Twin(args.dir, options)
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        ready = twin.start()
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        while not stopping:
            time.sleep(0.2)
            if args.parent_pid and not pid_alive(args.parent_pid):
                break
            for p in twin.procs:
                if p.poll() is not None:
                    sys.stderr.write("twin: a process exited with %s; stopping\n" % p.returncode)
                    stopping.append(0)
    except Exception as ex:
        sys.stdout.write(json.dumps({"ready": False, "error": str(ex)}) + "\n")
        sys.stdout.flush()
        twin.stop()
        return 1
    finally:
        twin.stop()
    return 0


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def read_ready(d):
    path = os.path.join(os.path.abspath(d), "twin.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        ready = json.load(f)
    return ready if pid_alive(ready["pid"]) else None


def cmd_start(args):
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    if read_ready(d):
        sys.stderr.write("twin: already running in %s\n" % d)
        return 1
    cmd = [PYTHON, os.path.abspath(__file__), "run", "--dir", d]
    if args.options:
        cmd += ["--options", args.options]
    out = open(os.path.join(d, "twin.out"), "ab")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=out, start_new_session=True)
    line = proc.stdout.readline().decode("utf-8")
    proc.stdout.close()
    try:
        ready = json.loads(line)
    except ValueError:
        sys.stderr.write("twin: did not start (see %s)\n" % os.path.join(d, "twin.out"))
        return 1
    if not ready.get("ready"):
        sys.stderr.write("twin: did not start: %s\n" % ready.get("error"))
        return 1
    sys.stdout.write(json.dumps(ready) + "\n")
    return 0


def cmd_stop(args):
    ready = read_ready(args.dir)
    if not ready:
        sys.stderr.write("twin: not running in %s\n" % os.path.abspath(args.dir))
        return 1
    os.kill(ready["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and pid_alive(ready["pid"]):
        time.sleep(0.1)
    return 0 if not pid_alive(ready["pid"]) else 1


def cmd_status(args):
    ready = read_ready(args.dir)
    if not ready:
        sys.stderr.write("twin: not running in %s\n" % os.path.abspath(args.dir))
        return 1
    sys.stdout.write(json.dumps(ready) + "\n")
    return 0


def cmd_env(args):
    ready = read_ready(args.dir)
    if not ready:
        sys.stderr.write("twin: not running in %s\n" % os.path.abspath(args.dir))
        return 1
    for k, v in sorted(ready["env"].items()):
        sys.stdout.write("export %s=%s\n" % (k, v))
    return 0


def main():
    parser = argparse.ArgumentParser(prog="twin.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "start", "stop", "status", "env"):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True)
        if name in ("run", "start"):
            p.add_argument("--options")
        if name == "run":
            p.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    return {"run": cmd_run, "start": cmd_start, "stop": cmd_stop, "status": cmd_status, "env": cmd_env}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
