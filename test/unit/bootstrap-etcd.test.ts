import { execFileSync } from 'node:child_process';
import { KUBERNETES_MINORS } from '../../src/bootstrap/kubernetes-versions.js';
import { describe, expect, it } from 'vitest';
import { ETCD_PLACEHOLDERS, etcdBootstrapBudgetSeconds, renderEtcdUserData, resolveEtcdContext } from '../../src/bootstrap/etcd.js';
import {
  ETCD_FOR_KUBERNETES_MINOR,
  ETCD_TARBALL_SHA256,
  etcdTarballUrl,
  etcdVersionFor,
  kubernetesMinor,
} from '../../src/bootstrap/versions.js';

const base = { clusterName: 'demo', kubernetesVersion: '1.36.1', podCidr: '10.244.0.0/16' } as const;

describe('versions', () => {
  it('derives etcd from the Kubernetes minor: 3.5 up to 1.33, 3.6 from 1.34', () => {
    expect(kubernetesMinor('v1.33.2')).toBe('1.33');
    expect(etcdVersionFor('1.33')).toMatch(/^3\.5\./);
    expect(etcdVersionFor('1.34.0')).toMatch(/^3\.6\./);
    for (const v of Object.values(ETCD_FOR_KUBERNETES_MINOR)) expect(v).toMatch(/^3\.[56]\.\d+$/);
  });
  it('fails on malformed and unknown versions, naming the value', () => {
    expect(() => etcdVersionFor('1.x')).toThrow(/got "1.x"/);
    expect(() => etcdVersionFor('1.20')).toThrow(/no etcd version known for Kubernetes 1.20/);
  });
  it('builds upstream URLs and keeps checksums well-formed', () => {
    expect(etcdTarballUrl('3.5.21', 'arm64')).toBe(
      'https://github.com/etcd-io/etcd/releases/download/v3.5.21/etcd-v3.5.21-linux-arm64.tar.gz',
    );
    for (const sums of Object.values(ETCD_TARBALL_SHA256)) for (const s of Object.values(sums)) expect(s).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('renderEtcdUserData', () => {
  it('lists exactly the placeholders the construct must fill', () => {
    const plain = renderEtcdUserData(base);
    expect(plain.role).toBe('etcd');
    expect(plain.placeholders).toEqual(
      [
        ETCD_PLACEHOLDERS.address,
        ETCD_PLACEHOLDERS.caCert,
        ETCD_PLACEHOLDERS.caKey,
        ETCD_PLACEHOLDERS.clusterToken,
        ETCD_PLACEHOLDERS.initialCluster,
        ETCD_PLACEHOLDERS.nodeName,
        ETCD_PLACEHOLDERS.signalCurl,
      ].sort(),
    );
    expect(renderEtcdUserData({ ...base, dataVolume: true }).placeholders).toContain(ETCD_PLACEHOLDERS.volumeId);
    const backed = renderEtcdUserData({ ...base, backup: {} }).placeholders;
    expect(backed).toContain(ETCD_PLACEHOLDERS.backupVolumeId);
    expect(backed).not.toContain(ETCD_PLACEHOLDERS.volumeId);
    expect(renderEtcdUserData({ ...base, backup: { volume: false } }).placeholders).not.toContain(ETCD_PLACEHOLDERS.backupVolumeId);
  });

  it('the cluster token is a deploy-time value, not the cluster name (two clusters of one name must differ)', () => {
    const text = renderEtcdUserData(base).text;
    expect(text).toContain("ETCD_CLUSTER_TOKEN='__ETCD_CLUSTER_TOKEN__'");
    expect(text).not.toMatch(/ETCD_CLUSTER_TOKEN='?demo-etcd'?\n/);
  });

  it('never waits for READY on a start job, and the unit has no start timeout (a slow peer cannot fail a member)', () => {
    const text = renderEtcdUserData(base).text;
    expect(text).toContain('TimeoutStartSec=infinity');
    expect(text).not.toMatch(/TimeoutStartSec=\d/);
    expect(text).toContain('systemctl start --no-block $ETCD_UNIT');
    expect(text).not.toMatch(/systemctl (re)?start (?!--no-block)/);
  });

  it('renders the backup timer with the schedule and retention given', () => {
    const text = renderEtcdUserData({ ...base, backup: { schedule: 'daily', retain: 7, randomizedDelaySec: 60 } }).text;
    expect(text).toContain('OnCalendar=daily');
    expect(text).toContain('ETCD_BACKUP_RETAIN=7');
    expect(text).toContain('RandomizedDelaySec=60');
    expect(text).toContain("mount_volume '__ETCD_BACKUP_VOLUME_ID__' 'etcd-backup' '/var/lib/etcd-backup'");
    expect(renderEtcdUserData(base).text).not.toContain('hotk8s-etcd-backup.timer');
  });

  it('with backup.swift: the container URL and key are deploy-time placeholders, the upload signs PUT with HMAC-SHA256', () => {
    const ud = renderEtcdUserData({ ...base, backup: { swift: { deleteAfterDays: 14 } } });
    expect(ud.placeholders).toContain(ETCD_PLACEHOLDERS.backupSwiftUrl);
    expect(ud.placeholders).toContain(ETCD_PLACEHOLDERS.backupSwiftKey);
    expect(ud.text).toContain("ETCD_BACKUP_SWIFT_URL='__ETCD_BACKUP_SWIFT_URL__'");
    expect(ud.text).toContain("ETCD_BACKUP_SWIFT_KEY='__ETCD_BACKUP_SWIFT_KEY__'");
    expect(ud.text).toContain(`ETCD_BACKUP_SWIFT_DELETE_AFTER=${14 * 86400}`);
    expect(ud.text).toContain('ETCD_BACKUP_SWIFT_PREFIX=demo');
    expect(ud.text).toContain('hashlib.sha256');
    expect(ud.text).not.toMatch(/sha1/);
    expect(renderEtcdUserData({ ...base, backup: { swift: {} } }).text).toContain(`ETCD_BACKUP_SWIFT_DELETE_AFTER=${30 * 86400}`);
    expect(renderEtcdUserData({ ...base, backup: { swift: { deleteAfterDays: 0 } } }).text).toContain('ETCD_BACKUP_SWIFT_DELETE_AFTER=0');
    // Without it: no placeholder, no upload step.
    const plain = renderEtcdUserData({ ...base, backup: {} });
    expect(plain.placeholders).not.toContain(ETCD_PLACEHOLDERS.backupSwiftUrl);
    expect(plain.placeholders).not.toContain(ETCD_PLACEHOLDERS.backupSwiftKey);
    expect(plain.text).not.toContain('temp_url_sig');
    for (const days of [-1, 1.5, 3651, Number.NaN])
      expect(() => resolveEtcdContext({ ...base, backup: { swift: { deleteAfterDays: days } } })).toThrow(
        new RegExp(
          `backup\\.swift\\.deleteAfterDays must be a whole number of days from 0 \\(keep\\) to 3650; got ${days === days ? String(days).replace('.', '\\.') : 'null'}`,
        ),
      );
  });

  it('is deterministic', () => {
    expect(renderEtcdUserData(base).text).toBe(renderEtcdUserData(base).text);
  });

  it('downloads from the mirror with the checksum of each architecture', () => {
    const r = resolveEtcdContext({ ...base, install: { mode: 'download', baseUrl: 'https://mirror.example/etcd/' } });
    expect(r.urls.amd64).toBe(`https://mirror.example/etcd/v${r.etcdVersion}/etcd-v${r.etcdVersion}-linux-amd64.tar.gz`);
    const text = renderEtcdUserData({ ...base, install: { mode: 'download', baseUrl: 'https://mirror.example/etcd' } }).text;
    expect(text).toContain("ETCD_URL='https://mirror.example/etcd'/v$ETCD_VERSION");
    expect(text).toContain(r.sha256.amd64);
    expect(text).not.toContain('github.com');
  });

  it("renders only etcd flags that this machine's etcd (3.4) knows", () => {
    const text = renderEtcdUserData(base).text;
    const flags = [...text.matchAll(/^ {2}(--[a-z-]+)=/gm)].map((m) => m[1] as string);
    expect(flags.length).toBeGreaterThan(15);
    let help = '';
    try {
      help = execFileSync('etcd', ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      help = String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
    }
    if (!help.includes('--initial-cluster')) throw new Error('prerequisite missing: etcd --help gave no flag list (install etcd-server)');
    expect(flags.filter((f) => !help.includes(`${f} `) && !help.includes(`${f}\n`) && !help.includes(`${f}=`))).toEqual([]);
  });

  it('fails when a version has no known checksum and none is given', () => {
    expect(() => renderEtcdUserData({ ...base, etcdVersion: '3.6.99' })).toThrow(/install\.sha256 must be given for etcd 3\.6\.99/);
  });

  it('knows the checksums of the etcd of every supported Kubernetes minor (no minor needs a user-given checksum)', () => {
    for (const m of KUBERNETES_MINORS) {
      const v = etcdVersionFor(m.minor);
      expect(Object.keys(ETCD_TARBALL_SHA256[v] ?? {}).sort(), `etcd ${v} for Kubernetes ${m.minor}`).toEqual(['amd64', 'arm64']);
      expect(() => renderEtcdUserData({ ...base, kubernetesVersion: m.minor })).not.toThrow();
    }
  });

  it('fails on bad settings, naming field and value', () => {
    expect(() => resolveEtcdContext({ ...base, etcdVersion: 'v3.5.1' })).toThrow(/etcdVersion .*got "v3.5.1"/);
    expect(() => resolveEtcdContext({ ...base, etcdVersion: '3.3.9' })).toThrow(/3\.4\.x, 3\.5\.x or 3\.6\.x/);
    expect(() => resolveEtcdContext({ ...base, install: { mode: 'download', baseUrl: "https://x/'$(id)" } })).toThrow(/install\.baseUrl/);
    expect(() => resolveEtcdContext({ ...base, install: { mode: 'preinstalled', etcdPath: 'etcd' } })).toThrow(
      /install\.etcdPath must be an absolute path; got "etcd"/,
    );
    expect(() => resolveEtcdContext({ ...base, bounds: { healthSeconds: 5 } })).toThrow(/bounds\.healthSeconds .*got 5/);
    expect(() => resolveEtcdContext({ ...base, dataVolume: { label: 'x'.repeat(17) } })).toThrow(/dataVolume\.label/);
    expect(() => resolveEtcdContext({ ...base, podCidr: '10.244.0.0' })).toThrow(/podCidr/);
    expect(() => resolveEtcdContext({ ...base, backup: { schedule: 'daily\nExecStart=/bin/sh' } })).toThrow(
      /backup\.schedule .*got "daily\\nExecStart/,
    );
    expect(() => resolveEtcdContext({ ...base, backup: { retain: 0 } })).toThrow(/backup\.retain .*got 0/);
    expect(() => resolveEtcdContext({ ...base, backup: { volume: { label: 'a b' } } })).toThrow(/backup\.volume\.label/);
  });

  it('derives a budget from its bounds, so the WaitCondition timeout can be larger', () => {
    expect(etcdBootstrapBudgetSeconds(base)).toBe(300 + 600 + 240);
    expect(etcdBootstrapBudgetSeconds({ ...base, dataVolume: true })).toBe(300 + 300 + 600 + 240);
    expect(etcdBootstrapBudgetSeconds({ ...base, dataVolume: true, backup: {} })).toBe(300 + 2 * 300 + 600 + 240);
    expect(etcdBootstrapBudgetSeconds({ ...base, install: { mode: 'preinstalled' }, bounds: { healthSeconds: 100 } })).toBe(100 + 240);
    expect(renderEtcdUserData({ ...base, bounds: { healthSeconds: 123 } }).text).toContain('ETCD_HEALTH_SECONDS=123');
  });
});
