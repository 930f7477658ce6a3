// Strict props (issue 13 items 1-2): every public prop is checked by one declared spec (src/k8s/private/props-spec.ts).
// Each case below gave a raw TypeError or was accepted silently before the spec existed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { App, Cluster, FlannelNetwork, Fn, HeatStack, HotError, LoadBalancer } from '../../src/index.js';
import { editDistance, nearest } from '../../src/k8s/private/check.js';

const BASE = { name: 'k8s', image: 'ubuntu-24.04', externalNetwork: 'public', keyName: 'me' };

function build(props: unknown, base = true): Cluster {
  const app = new App();
  const stack = new HeatStack(app, 'test');
  return new Cluster(stack, 'Cluster', (base && props !== null && typeof props === 'object' ? { ...BASE, ...props } : props) as never);
}

/** Our HotError at the Cluster's path whose detail matches exactly. */
function refused(props: unknown, detail: RegExp, base = true): void {
  let err: unknown;
  try {
    build(props, base);
  } catch (e) {
    err = e;
  }
  expect(err, `accepted ${JSON.stringify(props)}`).toBeInstanceOf(HotError);
  const h = err as HotError;
  expect(h.constructPath).toBe('test/Cluster');
  expect(h.detail).toMatch(detail);
}

describe('props: the defects of issue 13', () => {
  it.each([
    [{ workerGroups: [{ name: 'a', taints: [{}] }] }, /^workerGroups\[0\]\.taints\[0\]\.key is required; got undefined$/],
    [{ dnsNameservers: 5 }, /^dnsNameservers must be a list \(each a string\); got 5$/],
    [{ dnsNameservers: true }, /^dnsNameservers must be a list \(each a string\); got true$/],
    [{ dnsNameservers: { a: 1 } }, /^dnsNameservers must be a list \(each a string\); got \{"a":1\}$/],
    [{ dnsNameservers: {} }, /^dnsNameservers must be a list \(each a string\); got \{\}$/],
    [{ apiAllowedCidrs: null }, /^apiAllowedCidrs must be a list \(each a string\); got null$/],
    [{ masters: 5 }, /^masters must be an object \{ count\?, flavor\?, .* \}; got 5$/],
    [{ etcd: 5 }, /^etcd must be an object \{ size\?, flavor\?, .* \}; got 5$/],
    [{ flannel: 5 }, /^flannel must be an object \{ podCidr\?, subnetLength\?, backend\? \}; got 5$/],
    [{ bootstrapBounds: 5 }, /^bootstrapBounds must be an object \{ packagesSec\?, .* \}; got 5$/],
    [
      { existingNetwork: { networkId: 'n', subnetId: 7, subnetCidr: '10.0.0.0/24' } },
      /^existingNetwork\.subnetId must be a string or a deploy-time value .*; got 7$/,
    ],
    [{ cloudProvider: { subnetId: 7 } }, /^cloudProvider\.subnetId must be a string; got 7$/],
    [{ loadBalancer: { flavor: 7 } }, /^loadBalancer\.flavor must be a string; got 7$/],
    [{ workerGroups: [{ name: 'a', availabilityZone: {} }] }, /^workerGroups\[0\]\.availabilityZone must be a string; got \{\}$/],
    [
      { workerGroups: [{ name: 'a', availabilityZone: { zone: 'az1' } }] },
      /^workerGroups\[0\]\.availabilityZone must be a string; got \{"zone":"az1"\}$/,
    ],
    [{ kubernetesVersion: 1.32 }, /^kubernetesVersion must be a string; got 1\.32$/],
  ])('refuses %j with the prop path and the value', (props, detail) => refused(props, detail));

  it('refuses props: null and non-objects', () => {
    refused(null, /^props must be an object of cluster props; got null$/, false);
    refused(5, /^props must be an object of cluster props; got 5$/, false);
    refused([], /^props must be an object of cluster props; got \[\]$/, false);
  });

  it.each([
    [{ workerGroup: [{ name: 'a' }] }, /^workerGroup is not a known prop \(did you mean workerGroups\?\); known: name, /],
    [{ kubernetesVerison: '1.32' }, /^kubernetesVerison is not a known prop \(did you mean kubernetesVersion\?\)/],
    [
      { workerGroups: [{ name: 'a' }, { name: 'b', bootVolume: { sise: 20 } }] },
      /^workerGroups\[1\]\.bootVolume\.sise is not a known prop \(did you mean sizeGiB\?\)/,
    ],
    [{ workerGroups: [{ name: 'a', sise: 2 }] }, /^workerGroups\[0\]\.sise is not a known prop \(did you mean size\?\)/],
    [{ totallyUnrelated: 1 }, /^totallyUnrelated is not a known prop; known: /],
  ])('refuses the unknown key of %j, naming the nearest', (props, detail) => refused(props, detail));

  it('names the nested path and the value received', () =>
    refused(
      { workerGroups: [{ name: 'a' }, { name: 'b', bootVolume: { sizeGiB: '20' } }] },
      /^workerGroups\[1\]\.bootVolume\.sizeGiB must be a number; got "20"$/,
    ));

  it('names the alternative a union value nearly matched', () => {
    refused({ loadBalancer: { floatingIp: { address: 5 } } }, /^loadBalancer\.floatingIp\.address must be a string; got 5$/);
    refused(
      { loadBalancer: { floatingIp: 'yes' } },
      /^loadBalancer\.floatingIp must be true, false, \{ address \} or \{ existingId \}; got "yes"$/,
    );
    refused({ packageSource: { mode: 'mirror' } }, /^packageSource\.aptRepositoryUrl is required; got undefined$/);
    refused({ packageSource: { mode: 'ftp' } }, /^packageSource\.mode must be one of "upstream", "mirror", "preinstalled"; got "ftp"$/);
  });

  it('checks addWorkerGroup and exposeNodePort options by the same specs', () => {
    const c = build({});
    expect(() => c.addWorkerGroup({ name: 'b', sise: 1 } as never)).toThrow(
      /^test\/Cluster: worker group options\.sise is not a known prop \(did you mean size\?\)/,
    );
    expect(() => c.addWorkerGroup(null as never)).toThrow(/^test\/Cluster: worker group options must be an object .*; got null$/);
    expect(() => c.exposeNodePort('web', { port: 80, nodePort: 30080, protocl: 'TCP' } as never)).toThrow(
      /^test\/Cluster: exposeNodePort\("web"\) options\.protocl is not a known prop \(did you mean protocol\?\)/,
    );
  });

  it('accepts deploy-time values where a prop takes one, and refuses a look-alike plain object', () => {
    const c = build({ existingNetwork: { networkId: Fn.getParam('OS::stack_name'), subnetId: 's', subnetCidr: '10.0.0.0/24' } });
    expect(c.network.networkId).toBeDefined();
    refused(
      { existingNetwork: { networkId: { get_param: 'x' }, subnetId: 's', subnetCidr: '10.0.0.0/24' } },
      /^existingNetwork\.networkId must be a string or a deploy-time value .*; got \{"get_param":"x"\}$/,
    );
  });
});

describe('did-you-mean', () => {
  it('measures adjacent swaps as one edit', () => {
    expect(editDistance('kubernetesverison', 'kubernetesversion')).toBe(1);
    expect(editDistance('sise', 'size')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('proposes only near names', () => {
    expect(nearest('workerGroup', ['workerGroups', 'name'])).toBe('workerGroups');
    expect(nearest('zzz', ['workerGroups', 'name'])).toBeUndefined();
  });
});

describe('props of the general constructs', () => {
  const scope = () => new HeatStack(new App(), 's');

  it('LoadBalancer, its listeners and pools refuse unknown keys and wrong types with the prop path', () => {
    expect(() => new LoadBalancer(scope(), 'Lb', { vipSubnet: 'sub', provder: 'ovn' } as never)).toThrow(
      /^s\/Lb: provder is not a known prop \(did you mean provider\?\)/,
    );
    expect(() => new LoadBalancer(scope(), 'Lb', { vipSubnet: 'sub', floatingIp: { network: 5 } } as never)).toThrow(
      /^s\/Lb: floatingIp\.network must be a string or a deploy-time value .*; got 5$/,
    );
    const lb = new LoadBalancer(scope(), 'Lb', { vipSubnet: 'sub' });
    expect(() => lb.addListener('L', { port: 80, allowedCidrs: '0.0.0.0/0' } as never)).toThrow(
      /^s\/Lb\/L: allowedCidrs must be a list of CIDRs or a comma_delimited_list parameter; got "0\.0\.0\.0\/0"$/,
    );
    const l = lb.addListener('L2', { port: 80 });
    expect(() => l.addPool({ healthMonitor: { delaySec: '5' } } as never)).toThrow(
      /^s\/Lb\/L2\/Pool: healthMonitor\.delaySec must be a number; got "5"$/,
    );
  });

  it('FlannelNetwork refuses junk props', () => {
    expect(() => new FlannelNetwork(scope(), 'F', { podCidr: 10 } as never)).toThrow(/^s\/F: podCidr must be a string; got 10$/);
    expect(() => new FlannelNetwork(scope(), 'F', null as never)).toThrow(/^s\/F: props must be an object .*; got null$/);
  });
});

describe('typed boot volumes synthesize (synth refused them before: volume_type is no key of block_device_mapping_v2)', () => {
  it('masters and a worker group with bootVolume.volumeType pass the synth-time Heat schema check', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hotk8s-props-'));
    try {
      const app = new App();
      const stack = new HeatStack(app, 'typed');
      new Cluster(stack, 'Cluster', {
        ...BASE,
        masters: { bootVolume: { sizeGiB: 40, volumeType: 'ssd' } },
        workerGroups: [{ name: 'a', bootVolume: { sizeGiB: 50, volumeType: 'ssd' } }],
      });
      const result = await app.synth({ write: false, stateDir });
      const text = [...result.files.values()].join('\n');
      expect(text).toContain('volume_type: ssd');
      expect(text).not.toMatch(/block_device_mapping_v2:[^\n]*\n(\s+[-\w][^\n]*\n)*?\s+volume_type:/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
