"""The software-deployment agent of the fake servers (what os-collect-config and heat-config-notify do on a
real server booted with `software_config_transport: POLL_SERVER_HEAT`): every software deployment Heat
holds IN_PROGRESS whose server is ACTIVE in the fake Nova is signalled once per action, at once, with
`deploy_status_code` 0, by POSTing to heat-api's resource-signal URL (`signal_transport: HEAT_SIGNAL`),
as the real agent does through heatclient. The hooks themselves (the scripts of the configs) do not run.

The deployments are found in Heat's own database (sqlite, read-only: the `software_deployment` rows and the
`resource` row whose physical id is the deployment), so no Heat API call is spent on finding them: heat-all's
CPU time stays what a cloud's engine spends on the signals. Only `HEAT_SIGNAL` deployments are served (the
CFN, temp-URL and Zaqar transports need services the twin does not run)."""

import json
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

QUERY = (
    "SELECT d.id, d.server_id, d.action, s.id, s.name, s.tenant, r.name FROM software_deployment d "
    "JOIN resource r ON r.nova_instance = d.id JOIN stack s ON s.id = r.stack_id "
    "WHERE d.status = 'IN_PROGRESS' AND s.deleted_at IS NULL"
)


class DeploymentAgent(object):
    def __init__(self, cloud, db_path):
        self.cloud = cloud
        self.db_path = db_path
        self.done = set()  # (deployment id, action) already signalled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deployment-agent", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def _pending(self):
        if not self.db_path or not os.path.exists(self.db_path):
            return []
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        try:
            return con.execute(QUERY).fetchall()
        except sqlite3.Error:  # Heat's schema not there yet
            return []
        finally:
            con.close()

    def _run(self):
        while not self._stop.wait(self.cloud.delay("nodePoll") or 0.2):
            for dep_id, server_id, action, stack_id, stack_name, tenant, resource in self._pending():
                if (dep_id, action) in self.done:
                    continue
                with self.cloud.lock:
                    s = self.cloud.services["compute"].servers.get(server_id)
                    active = s is not None and s["status"] == "ACTIVE"
                if not active:
                    continue
                self.done.add((dep_id, action))
                self._signal(dep_id, server_id, action, stack_id, stack_name, tenant, resource, s["name"])

    def _signal(self, dep_id, server_id, action, stack_id, stack_name, tenant, resource, server_name):
        base = (self.cloud.heat_url or "") % {"tenant_id": tenant}
        url = "%s/stacks/%s/%s/resources/%s/signal" % (
            base, urllib.parse.quote(stack_name), stack_id, urllib.parse.quote(resource))
        body = {"deploy_status_code": 0, "deploy_stdout": "twin: %s %s" % (server_name, action), "deploy_stderr": ""}
        req = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        start = time.time()
        code, error = None, None
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                code = resp.status
                resp.read()
        except urllib.error.HTTPError as ex:
            code = ex.code
            error = ex.read().decode("utf-8", "replace")[:500]
        except Exception as ex:  # connection refused, timeout
            error = str(ex)
        accepted = code is not None and 200 <= code < 300
        with self.cloud.lock:
            self.cloud.record_simple("OS::Heat::SoftwareDeployment", dep_id, "signal", start, name=resource,
                                     server=server_id, event=action.lower(), status="SUCCESS", accepted=accepted,
                                     httpStatus=code, source="software-deployment",
                                     **({"error": error} if error else {}))
