/**
 * The twin's fake servers under Heat 19's own OS::Nova::Server update code, on a one-server template: a new image is
 * a REBUILD (the node boots again and signals), a new flavor a RESIZE confirmed by Heat (the node reboots), new
 * metadata with a new `hotk8s-generation` an in-place update after which the node signals the handle named in its
 * metadata (endpoint split over several keys), and an expired handle token is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, summarize, type Twin } from '../lib/twin.js';

const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-sm-'));
let twin: Twin;
const SERVER = 'one/server';

/** A network, a port, a handle with its wait condition, and a server that signals the handle from its user-data. */
function template(opts: { secondHandle?: boolean } = {}): string {
  const metadata: Record<string, unknown> = { 'hotk8s-role': 'worker', 'hotk8s-generation': { get_param: 'generation' } };
  const resources: Record<string, unknown> = {
    net: { type: 'OS::Neutron::Net' },
    subnet: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net' }, cidr: '10.1.0.0/24' } },
    port: {
      type: 'OS::Neutron::Port',
      properties: { network: { get_resource: 'net' }, fixed_ips: [{ subnet: { get_resource: 'subnet' } }] },
    },
    handle: { type: 'OS::Heat::WaitConditionHandle', properties: { signal_transport: 'TOKEN_SIGNAL' } },
    wait: { type: 'OS::Heat::WaitCondition', properties: { handle: { get_resource: 'handle' }, timeout: 300 } },
    server: {
      type: 'OS::Nova::Server',
      properties: {
        name: 'one-0',
        image: { get_param: 'image' },
        flavor: { get_param: 'flavor' },
        key_name: 'twin-key',
        networks: [{ port: { get_resource: 'port' } }],
        metadata,
        user_data_format: 'RAW',
        user_data_update_policy: 'IGNORE',
        user_data: {
          str_replace: {
            template: '#!/bin/bash\nHK_SIGNAL=(__SIGNAL__)\n"${HK_SIGNAL[@]}" --data-binary \'{"status":"SUCCESS"}\'\n',
            params: { __SIGNAL__: { get_attr: ['handle', 'curl_cli'] } },
          },
        },
      },
    },
  };
  if (opts.secondHandle) {
    resources.handle2 = { type: 'OS::Heat::WaitConditionHandle', properties: { signal_transport: 'TOKEN_SIGNAL' } };
    resources.wait2 = { type: 'OS::Heat::WaitCondition', properties: { handle: { get_resource: 'handle2' }, timeout: 300 } };
    // the endpoint in two keys (split where "/resources/" begins), the token in one: the node joins them in order
    const endpoint = { get_attr: ['handle2', 'endpoint'] };
    metadata['hotk8s-signal-endpoint-0'] = { list_join: ['', [{ str_split: ['/resources/', endpoint, 0] }, '/resources/']] };
    metadata['hotk8s-signal-endpoint-1'] = { str_split: ['/resources/', endpoint, 1] };
    metadata['hotk8s-signal-token-0'] = { get_attr: ['handle2', 'token'] };
  }
  return yaml.dump({
    heat_template_version: '2018-08-31',
    parameters: {
      image: { type: 'string', default: 'debian-12', constraints: [{ custom_constraint: 'glance.image' }] },
      flavor: { type: 'string', default: 'm1.small', constraints: [{ custom_constraint: 'nova.flavor' }] },
      generation: { type: 'string', default: 'g1' },
    },
    resources,
  });
}

function write(name: string, body: string): string {
  const file = join(work, name);
  writeFileSync(file, body);
  return file;
}

beforeAll(async () => {
  // with the example node model: workers wait for the masters' version (used by the last test only)
  twin = await startTwin({
    delays: { nodeSignal: 0.3 },
    nodeModel: 'version_gate:VersionGate',
    pythonPath: [join(import.meta.dirname, 'models')],
  });
});

afterAll(async () => {
  await twin?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a server under Heat 19 on the twin', () => {
  it('creates: BUILD -> ACTIVE, the node signals its handle from the user-data', async () => {
    await twin.openstack(['stack', 'create', '-t', write('one.yaml', template()), 'one']);
    const state = await twin.waitForStack('one', { action: 'CREATE' });
    expect(state.status, state.reason).toBe('CREATE_COMPLETE');
    const actions = (await twin.actions()).filter((a) => a.path === SERVER);
    expect(actions.map((a) => a.action)).toEqual(['create', 'signal']);
    expect(actions[1]).toMatchObject({ source: 'user-data', accepted: true, status: 'SUCCESS' });
  });

  it('a new image is a rebuild: REBUILD -> ACTIVE on the same server; out of service until the node signals again', async () => {
    const since = await twin.mark();
    const state = await twin.updateStack('one', ['--parameter', 'image=ubuntu-24.04']);
    expect(state.status, state.reason).toBe('UPDATE_COMPLETE');
    const window = (await twin.actions({ since })).filter((a) => a.path === SERVER);
    expect(window.map((a) => a.action)).toEqual(['rebuild', 'signal']);
    expect(window[0].image).toEqual({ from: '5b0a1a2c-6d55-4e8f-9d2a-0c1f3e4a5b61', to: '8e6f2d41-3c7a-4b9e-a1f0-2d3c4b5a6e72' });
    const summary = summarize(await twin.actions(), { since });
    expect(summary.rebuilt).toEqual([SERVER]);
    expect(summary.maxOutOfService.worker).toBe(1);
    expect((await twin.nodes()).find((n) => n.name === 'one-0')).toMatchObject({ inService: true, status: 'ACTIVE' });
  });

  it('a new flavor is a resize: RESIZE -> VERIFY_RESIZE, Heat confirms, the node is back after its reboot', async () => {
    const since = await twin.mark();
    const state = await twin.updateStack('one', ['--parameter', 'flavor=m1.medium']);
    expect(state.status, state.reason).toBe('UPDATE_COMPLETE');
    const window = (await twin.actions({ since })).filter((a) => a.path === SERVER);
    expect(window.map((a) => a.action).sort()).toEqual(['confirm-resize', 'node-ready', 'resize']);
    expect(window.find((a) => a.action === 'resize')!.flavor).toEqual({ from: 'm1.small', to: 'm1.medium' });
    const summary = summarize(await twin.actions(), { since });
    expect(summary.resized).toEqual([SERVER]);
    expect(summary.maxOutOfService.worker).toBe(1);
  });

  it('a new generation in the metadata: updated in place, the node drains and signals the handle its metadata names', async () => {
    const since = await twin.mark();
    const state = await twin.updateStack('one', [
      '-t',
      write('one-g2.yaml', template({ secondHandle: true })),
      '--parameter',
      'generation=g2',
    ]);
    expect(state.status, state.reason).toBe('UPDATE_COMPLETE');
    const window = (await twin.actions({ since })).filter((a) => a.path === SERVER);
    expect(window.map((a) => a.action)).toEqual(['update', 'node-upgrade', 'signal']);
    expect((window[0].changed as { metadata: string[] }).metadata).toEqual([
      'hotk8s-generation',
      'hotk8s-signal-endpoint-0',
      'hotk8s-signal-endpoint-1',
      'hotk8s-signal-token-0',
    ]);
    expect(window[2]).toMatchObject({ source: 'metadata', status: 'SUCCESS', accepted: true, event: 'generation' });
    // the signal reached the new handle: its wait condition completed (the old one had been satisfied long ago)
    const { body } = await twin.heat<{ resource: { resource_status: string } }>('GET', `/stacks/one/${state.id}/resources/wait2`);
    expect(body.resource.resource_status).toBe('CREATE_COMPLETE');
    const summary = summarize(await twin.actions(), { since });
    expect(summary.updated).toEqual([SERVER]);
    expect(summary.maxOutOfService.worker).toBe(1);
  });

  it('a handle token Keystone no longer honours: the signal is refused with 401 and the node stays out of service', async () => {
    const expired = await fetch(`${twin.cloudUrl}/_twin/expire-tokens`, { method: 'POST', body: '{}' });
    expect(((await expired.json()) as { expired: number }).expired).toBeGreaterThan(0);
    const since = await twin.mark();
    const state = await twin.updateStack('one', ['--parameter', 'image=debian-12']);
    expect(state.status, state.reason).toBe('UPDATE_COMPLETE'); // a rebuild waits for no signal: Heat does not notice
    const deadline = Date.now() + 20_000;
    let signal;
    while (!signal && Date.now() < deadline) {
      signal = (await twin.actions({ since })).find((a) => a.action === 'signal');
      if (!signal) await new Promise((r) => setTimeout(r, 200));
    }
    expect(signal).toMatchObject({ accepted: false, httpStatus: 401, source: 'metadata' });
    expect((await twin.nodes()).find((n) => n.name === 'one-0')).toMatchObject({ inService: false });
  });

  it('a FAILURE fails the create naming the node and its phase; a node told never to signal lets its wait condition time out', async () => {
    twin.control({ nodes: { 'one-*': { status: 'FAILURE', phase: 'rejoin', reason: 'no quorum', on: ['create'] } } });
    await twin.openstack(['stack', 'create', '-t', write('one.yaml', template()), 'two']);
    const state = await twin.waitForStack('two', { action: 'CREATE' });
    expect(state.status).toBe('CREATE_FAILED');
    expect(state.reason).toContain('one-0: rejoin: no quorum');
    twin.control({ nodes: { 'one-*': { status: 'never' } } });
    const since = await twin.mark();
    await twin.openstack(['stack', 'create', '-t', write('short.yaml', template().replace('timeout: 300', 'timeout: 3')), 'three']);
    const silent = await twin.waitForStack('three', { action: 'CREATE' });
    expect(silent.status).toBe('CREATE_FAILED');
    expect(silent.reason).toMatch(/WaitConditionTimeout/);
    expect((await twin.actions({ since })).filter((a) => a.action === 'node-silent')).toHaveLength(1);
    twin.control({});
  });

  it('a node model: a worker signals only once every master runs the version in its metadata', async () => {
    const server = (name: string, role: string) => ({
      type: 'OS::Nova::Server',
      properties: {
        name,
        image: 'debian-12',
        flavor: 'm1.small',
        networks: [{ port: { get_resource: `${name}-port` } }],
        metadata: { 'hotk8s-role': role, 'hotk8s-kubernetes-version': '1.33.1' },
        user_data_format: 'RAW',
        user_data: { str_replace: { template: 'HK_SIGNAL=(__S__)', params: { __S__: { get_attr: [`${name}-handle`, 'curl_cli'] } } } },
      },
    });
    const resources: Record<string, unknown> = {
      net: { type: 'OS::Neutron::Net' },
      subnet: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net' }, cidr: '10.2.0.0/24' } },
    };
    for (const [name, role] of [
      ['gate-master', 'master'],
      ['gate-worker', 'worker'],
    ]) {
      resources[`${name}-port`] = { type: 'OS::Neutron::Port', properties: { network: { get_resource: 'net' } }, depends_on: ['subnet'] };
      resources[`${name}-handle`] = { type: 'OS::Heat::WaitConditionHandle', properties: { signal_transport: 'TOKEN_SIGNAL' } };
      resources[`${name}-wait`] = {
        type: 'OS::Heat::WaitCondition',
        properties: { handle: { get_resource: `${name}-handle` }, timeout: 300 },
      };
      resources[name] = server(name, role);
    }
    // the worker boots once the master's server exists (its node then counts); the master signals 3 s later
    (resources['gate-worker'] as { depends_on?: string[] }).depends_on = ['gate-master'];
    twin.control({ nodes: { 'gate-master': { delay: 3 } } });
    const since = await twin.mark();
    await twin.openstack([
      'stack',
      'create',
      '-t',
      write('gate.yaml', yaml.dump({ heat_template_version: '2018-08-31', resources })),
      'gate',
    ]);
    const state = await twin.waitForStack('gate', { action: 'CREATE' });
    expect(state.status, state.reason).toBe('CREATE_COMPLETE');
    const signals = (await twin.actions({ since })).filter((a) => a.action === 'signal');
    const master = signals.find((a) => a.name === 'gate-master')!;
    const worker = signals.find((a) => a.name === 'gate-worker')!;
    expect(worker.reason).toBe('gate-worker: all 1 masters at 1.33.1');
    expect(worker.start).toBeGreaterThanOrEqual(master.end);
    twin.control({});
  });
});
