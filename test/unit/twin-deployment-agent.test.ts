// The twin's software-deployment agent (test/twin/server/cloud/agent.py), which completes Magnum's
// OS::Heat::SoftwareDeployments for the engine bench: driven here against a sqlite file with the columns of Heat's
// tables it reads and a stand-in heat-api on loopback (no Heat: a second, not minutes).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TWIN_PYTHON, TWIN_SERVER_DIR } from '../lib/twin.js';

const SCRIPT = String.raw`
import http.server, json, sqlite3, sys, threading, time
from cloud import agent

db = sys.argv[1]
con = sqlite3.connect(db)
con.executescript("""
CREATE TABLE stack (id TEXT, name TEXT, tenant TEXT, deleted_at TEXT);
CREATE TABLE resource (id INTEGER, name TEXT, stack_id TEXT, nova_instance TEXT);
CREATE TABLE software_deployment (id TEXT, server_id TEXT, action TEXT, status TEXT);
INSERT INTO stack VALUES ('st1', 'bench-kube_minions-x-0-y', 'proj', NULL), ('st2', 'gone', 'proj', '2026-01-01');
INSERT INTO resource VALUES (1, 'node_config_deployment', 'st1', 'd1'), (2, 'master_config_deployment', 'st1', 'd2'),
  (3, 'done_deployment', 'st1', 'd3'), (4, 'old_deployment', 'st2', 'd4'), (5, 'bad', 'st1', 'd5');
INSERT INTO software_deployment VALUES ('d1', 's1', 'CREATE', 'IN_PROGRESS'), ('d2', 's2', 'CREATE', 'IN_PROGRESS'),
  ('d3', 's1', 'CREATE', 'COMPLETE'), ('d4', 's1', 'CREATE', 'IN_PROGRESS'), ('d5', 's1', 'CREATE', 'IN_PROGRESS');
""")
con.commit()

posts = []
class Heat(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        posts.append({"path": self.path, "body": body})
        self.send_response(500 if "/resources/bad/" in self.path else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Heat)
threading.Thread(target=srv.serve_forever, daemon=True).start()

class Compute(object):
    servers = {"s1": {"name": "node-0", "status": "ACTIVE"}, "s2": {"name": "master-0", "status": "BUILD"}}
class Cloud(object):
    lock = threading.RLock()
    services = {"compute": Compute()}
    heat_url = "http://127.0.0.1:%d/v1/%%(tenant_id)s" % srv.server_port
    records = []
    def delay(self, name):
        return 0.05
    def record_simple(self, rtype, physical_id, action, start=None, **extra):
        self.records.append(dict(extra, type=rtype, physicalId=physical_id, action=action))

cloud = Cloud()
a = agent.DeploymentAgent(cloud, db)
time.sleep(0.6)
phase1 = list(posts)
Compute.servers["s2"]["status"] = "ACTIVE"
con.execute("UPDATE software_deployment SET action = 'UPDATE' WHERE id = 'd1'")
con.commit()
time.sleep(0.6)
a.stop()
print(json.dumps({"phase1": phase1, "posts": posts, "records": cloud.records}))
`;

describe('twin software-deployment agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotk8s-agent-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('signals each IN_PROGRESS deployment of an ACTIVE server once per action, at heat-api, and records it', () => {
    const r = spawnSync(TWIN_PYTHON, ['-c', SCRIPT, join(dir, 'heat.sqlite')], { cwd: TWIN_SERVER_DIR, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as {
      phase1: { path: string; body: Record<string, unknown> }[];
      posts: { path: string; body: Record<string, unknown> }[];
      records: Record<string, unknown>[];
    };
    const url = (res: string) => `/v1/proj/stacks/bench-kube_minions-x-0-y/st1/resources/${res}/signal`;
    // the BUILD server's deployment waits; the COMPLETE one and the deleted stack's are left alone; no repeats
    expect(out.phase1.map((p) => p.path).sort()).toEqual([url('bad'), url('node_config_deployment')]);
    expect(out.phase1[0]!.body).toMatchObject({ deploy_status_code: 0 });
    // once the server is ACTIVE its deployment is signalled; a new action of a signalled deployment is signalled again
    expect(
      out.posts
        .slice(2)
        .map((p) => p.path)
        .sort(),
    ).toEqual([url('master_config_deployment'), url('node_config_deployment')]);
    expect(out.records).toHaveLength(4);
    expect(out.records.find((x) => x.physicalId === 'd5')).toMatchObject({
      type: 'OS::Heat::SoftwareDeployment',
      action: 'signal',
      accepted: false,
      httpStatus: 500,
    });
    expect(out.records.filter((x) => x.physicalId === 'd1').map((x) => x.event)).toEqual(['create', 'update']);
    expect(out.records.find((x) => x.physicalId === 'd2')).toMatchObject({
      name: 'master_config_deployment',
      server: 's2',
      accepted: true,
    });
  });
});
