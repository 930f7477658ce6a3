import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectAnnotations } from '../../src/core/annotations.js';
import {
  DEFAULT_KUBERNETES_VERSION,
  KUBERNETES_MINORS,
  KUBERNETES_VERSIONS_UPDATED,
  pastEndOfLife,
  resolveKubernetesVersion,
} from '../../src/bootstrap/kubernetes-versions.js';
import { cluster, failsWith } from './k8s-helpers.js';

const eolWarnings = (version?: string) =>
  collectAnnotations(cluster(version === undefined ? {} : { kubernetesVersion: version }).stack)
    .filter((a) => a.level === 'warning' && /end of life/.test(a.message))
    .map((a) => `${a.path}: ${a.message}`);

describe('the Kubernetes versions table', () => {
  afterEach(() => vi.useRealTimers());

  it('is one consistent table: dated, each minor with its patches, the default its newest, EOL dates as days', () => {
    expect(KUBERNETES_VERSIONS_UPDATED).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const m of KUBERNETES_MINORS) {
      expect(m.patches.length).toBeGreaterThan(0);
      for (const p of m.patches) expect(p.startsWith(`${m.minor}.`)).toBe(true);
      expect(m.defaultVersion).toBe(m.patches[m.patches.length - 1]);
      expect(m.endOfLife).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      // maintained on the day the table was updated
      expect(m.endOfLife > KUBERNETES_VERSIONS_UPDATED).toBe(true);
    }
    expect(resolveKubernetesVersion(DEFAULT_KUBERNETES_VERSION).version).toBe(DEFAULT_KUBERNETES_VERSION);
  });

  it('checks patch versions against the table, and refuses a number', () => {
    expect(resolveKubernetesVersion('1.36').version).toBe('1.36.4');
    expect(resolveKubernetesVersion('v1.35.2').version).toBe('1.35.2');
    expect(() => resolveKubernetesVersion('1.36.999')).toThrow(
      /1.36.999 is not a known patch release of Kubernetes 1.36 \(known on 2026-12-04: 1.36.0, .*1.36.4\)/,
    );
    expect(() => resolveKubernetesVersion(1.36)).toThrow(/must be a string .*got number 1.36/);
    expect(() => resolveKubernetesVersion('1.32')).toThrow(
      /Kubernetes 1.32 is not supported \(supported minors, maintained on 2026-12-04: 1.35, 1.36, 1.37\)/,
    );
  });

  it('a Cluster refuses an unknown patch and a number, naming its path', () => {
    failsWith(() => cluster({ kubernetesVersion: '1.36.999' }), 'test/Cluster', /1.36.999 is not a known patch release .*; got "1.36.999"/);
    failsWith(() => cluster({ kubernetesVersion: 1.36 as unknown as string }), 'test/Cluster', /must be a string.*got 1\.36/);
  });

  it('warns at synth when the chosen minor is past its end of life, and not before', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-04T12:00:00Z'));
    expect(eolWarnings('1.35')).toEqual([]);
    vi.setSystemTime(new Date('2027-03-01T00:00:00Z'));
    expect(eolWarnings('1.35')).toEqual([
      expect.stringMatching(/^test\/Cluster: Kubernetes 1.35 reached its end of life on 2027-02-28 .*maintained minor \(1.36, 1.37\)/),
    ]);
    expect(eolWarnings('1.36')).toEqual([]);
    expect(pastEndOfLife(resolveKubernetesVersion('1.37').info, new Date('2027-10-29T00:00:00Z'))).toBe('2027-10-28');
  });
});
