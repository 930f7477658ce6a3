import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkAndRecordKubernetesVersion,
  kubernetesVersionChangeError,
  readRecordedKubernetesVersion,
} from '../../src/bootstrap/version-state.js';
import { App, Cluster, HeatStack, HotError } from '../../src/index.js';

const dirs: string[] = [];
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'hotk8s-version-state-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('Kubernetes version changes between synths', () => {
  it('accepts a patch change within the minor (either way) and the next minor', () => {
    expect(kubernetesVersionChangeError('1.35.2', '1.35.9')).toBeUndefined();
    expect(kubernetesVersionChangeError('1.36.4', '1.36.1')).toBeUndefined();
    expect(kubernetesVersionChangeError('1.35.9', '1.36.0')).toBeUndefined();
    expect(kubernetesVersionChangeError('1.36.4', '1.36.4')).toBeUndefined();
  });

  it('refuses N -> N+2 with the one-minor-at-a-time sequence, and N -> N-1 as a downgrade', () => {
    expect(kubernetesVersionChangeError('1.35.9', '1.37.1')).toBe(
      'Kubernetes 1.35.9 -> 1.37.1 skips a minor: a cluster upgrades one minor at a time (1.35 -> 1.36 -> 1.37, one synth and stack update each); allowed from 1.35.9: any 1.35 patch, or 1.36',
    );
    expect(kubernetesVersionChangeError('1.36.4', '1.35.9')).toMatch(
      /^Kubernetes 1.36.4 -> 1.35.9 is a downgrade, which Kubernetes does not support .*; allowed from 1.36.4: any 1.36 patch, or 1.37$/,
    );
    expect(kubernetesVersionChangeError('1.33.1', '1.36.4')).toMatch(/skips minors: .*\(1.33 -> 1.34 -> 1.35 -> 1.36,/);
  });

  it('records the version in the state directory (0600) and refuses against that record, recording nothing then', () => {
    const s = fresh();
    expect(readRecordedKubernetesVersion(s, 'k8s')).toBeUndefined();
    checkAndRecordKubernetesVersion(s, 'k8s', '1.35.9');
    const file = join(s, 'k8s', 'kubernetes-version.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: '1.35.9' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(() => checkAndRecordKubernetesVersion(s, 'k8s', '1.37.1')).toThrow(/1.35.9 -> 1.37.1 skips a minor/);
    expect(readRecordedKubernetesVersion(s, 'k8s')).toEqual({ version: '1.35.9' });
    checkAndRecordKubernetesVersion(s, 'k8s', '1.36.4');
    expect(readRecordedKubernetesVersion(s, 'k8s')).toEqual({ version: '1.36.4' });
    // another cluster in the same state directory has its own record
    checkAndRecordKubernetesVersion(s, 'other', '1.37.1');
    expect(readRecordedKubernetesVersion(s, 'k8s')).toEqual({ version: '1.36.4' });
    writeFileSync(file, 'not json');
    expect(() => readRecordedKubernetesVersion(s, 'k8s')).toThrow(/kubernetes-version.json is not JSON/);
  });

  it('synth of the same cluster refuses a skipped minor and a downgrade, naming the Cluster, and accepts N+1', async () => {
    const state = fresh();
    const synth = (kubernetesVersion: string) => {
      const app = new App({ outdir: join(state, 'out'), stateDir: state });
      const stack = new HeatStack(app, 'prod');
      new Cluster(stack, 'Cluster', { name: 'k8s', image: 'img', externalNetwork: 'public', keyName: 'me', kubernetesVersion });
      return app.synth({ checkers: [] });
    };
    await synth('1.35');
    expect(readRecordedKubernetesVersion(state, 'k8s')).toEqual({ version: '1.35.9' });
    const skipped = await synth('1.37').catch((e: unknown) => e);
    expect(skipped).toBeInstanceOf(HotError);
    expect((skipped as HotError).constructPath).toBe('prod/Cluster');
    expect((skipped as HotError).message).toMatch(/1.35.9 -> 1.37.1 skips a minor: .*\(1.35 -> 1.36 -> 1.37, /);
    await synth('1.35.2'); // a patch change within the minor
    await synth('1.36');
    expect(readRecordedKubernetesVersion(state, 'k8s')).toEqual({ version: '1.36.4' });
    const down = await synth('1.35.9').catch((e: unknown) => e);
    expect((down as HotError).message).toMatch(/^prod\/Cluster: kubernetesVersion: Kubernetes 1.36.4 -> 1.35.9 is a downgrade/);
    expect(readRecordedKubernetesVersion(state, 'k8s')).toEqual({ version: '1.36.4' });
  });
});
