/**
 * Static layer for the etcd role: the rendered user-data as cloud-init splits it, every cloud-config
 * against cloud-init's schema (unknown keys rejected), every script through shellcheck, and the
 * size Nova receives after Heat's substitutions. The checker is itself tested to fail on bad input.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderEtcdUserData, type EtcdUserDataContext } from '../../src/bootstrap/etcd.js';
import { buildMultipart } from '../../src/bootstrap/render.js';
import type { ClusterPki } from '../../src/bootstrap/pki.js';
import {
  NOVA_USER_DATA_LIMIT,
  checkCloudConfig,
  novaSize,
  realisticHeatValues,
  requireTool,
  shellcheck,
  splitUserData,
  staticCheckUserData,
  substituteAsHeat,
  throwawayPki,
} from './lib/index.js';

const base = { clusterName: 'prod-cluster-01', kubernetesVersion: '1.36.2', podCidr: '10.244.0.0/16' } as const;
const variants: Record<string, EtcdUserDataContext> = {
  'download + data volume': { ...base, dataVolume: true },
  'data volume + backups on their own volume': { ...base, dataVolume: true, backup: { schedule: '*-*-* 00/6:00:00', retain: 12 } },
  'backups on their own volume and to Swift': {
    ...base,
    backup: { schedule: 'daily', retain: 3, swift: { deleteAfterDays: 14 } },
  },
  'download from a mirror, no volume': { ...base, install: { mode: 'download', baseUrl: 'https://mirror.example.org/etcd' } },
  'preinstalled (air-gapped image)': {
    ...base,
    install: { mode: 'preinstalled', etcdPath: '/usr/bin/etcd', etcdctlPath: '/usr/bin/etcdctl' },
  },
  'etcd 3.6 with given checksums': {
    ...base,
    kubernetesVersion: '1.37.0',
    dataVolume: { label: 'etcd' },
    install: { mode: 'download', sha256: { amd64: 'a'.repeat(64), arm64: 'b'.repeat(64) } },
  },
};

let pki: ClusterPki;
const sizes: string[] = [];

beforeAll(async () => {
  for (const tool of ['cloud-init', 'shellcheck', 'systemd-analyze', '/usr/bin/python3']) requireTool(tool);
  pki = await throwawayPki();
});

describe('etcd user-data, static checks', () => {
  for (const [name, ctx] of Object.entries(variants)) {
    it(`${name}: cloud-init splits it, schema and shellcheck pass, fits Nova after substitution`, () => {
      const ud = renderEtcdUserData(ctx);
      const raw = substituteAsHeat(ud.text, ud.placeholders, realisticHeatValues(pki));
      const report = staticCheckUserData(raw, `etcd(${name})`);
      expect(report.problems).toEqual([]);
      expect(report.parts.map((p) => [p.contentType, p.filename])).toEqual([
        ['text/cloud-config', 'cloud-config.yaml'],
        ['text/x-shellscript', '50-hotk8s-etcd.sh'],
      ]);
      // The shell part, and the common library decoded from write_files, were both shellchecked.
      expect(report.scriptsChecked).toHaveLength(2);
      expect(report.scriptsChecked.some((s) => s.endsWith(':/usr/local/lib/hotk8s/lib.sh'))).toBe(true);
      // The PEM placeholders became real PEM inside the heredocs.
      const script = report.parts[1]?.content ?? '';
      expect(script).toContain('-----BEGIN CERTIFICATE-----');
      expect(script).toContain('-----BEGIN PRIVATE KEY-----');
      const size = novaSize(raw);
      sizes.push(`${name}: raw ${Buffer.byteLength(raw)} B, base64 ${size} B (template ${Buffer.byteLength(ud.text)} B)`);
      expect(size).toBeLessThanOrEqual(NOVA_USER_DATA_LIMIT);
    });
  }

  it('the tools the script writes (backup, restore) pass shellcheck, and the backup schedule is one systemd accepts', () => {
    const ctx = variants['data volume + backups on their own volume'] as EtcdUserDataContext;
    const ud = renderEtcdUserData(ctx);
    const script = splitUserData(substituteAsHeat(ud.text, ud.placeholders, realisticHeatValues(pki)))[1]?.content ?? '';
    const tools = [...script.matchAll(/^cat >\/usr\/local\/sbin\/([\w-]+) <<'HK_EOF'\n([\s\S]*?)\nHK_EOF$/gm)];
    expect(tools.map((m) => m[1])).toEqual(['hotk8s-etcd-backup', 'hotk8s-etcd-restore']);
    for (const m of tools) expect(shellcheck(`${m[2]}\n`, m[1] as string)).toEqual([]);
    // With the Swift copy: the backup tool (its upload step) passes shellcheck too, and it is the larger tool.
    const swiftUd = renderEtcdUserData(variants['backups on their own volume and to Swift'] as EtcdUserDataContext);
    const swiftScript = splitUserData(substituteAsHeat(swiftUd.text, swiftUd.placeholders, realisticHeatValues(pki)))[1]?.content ?? '';
    const swiftTool = /^cat >\/usr\/local\/sbin\/hotk8s-etcd-backup <<'HK_EOF'\n([\s\S]*?)\nHK_EOF$/m.exec(swiftScript)?.[1] ?? '';
    expect(swiftTool).toContain('temp_url_sig=');
    expect(swiftTool.length).toBeGreaterThan((tools[0]?.[2] ?? '').length);
    expect(shellcheck(`${swiftTool}\n`, 'hotk8s-etcd-backup (swift)')).toEqual([]);
    const calendar = /^OnCalendar=(.*)$/m.exec(script)?.[1];
    expect(calendar).toBe('*-*-* 00/6:00:00');
    const r = spawnSync('systemd-analyze', ['calendar', calendar as string], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const bad = spawnSync('systemd-analyze', ['calendar', 'every tuesday-ish'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });

  it('reports sizes', () => {
    // Printed for the closing note; the assertion keeps the list honest.
    console.log(`etcd user-data sizes:\n  ${sizes.join('\n  ')}`);
    expect(sizes).toHaveLength(Object.keys(variants).length);
  });
});

describe('the checker fails on bad input', () => {
  it('fails when a cloud-config has a misspelt top-level key (runcmds), which cloud-init accepts', () => {
    const problems = checkCloudConfig('#cloud-config\nruncmds:\n  - [echo, hi]\n', 'typo');
    expect(problems).toEqual(["typo: unknown top-level key 'runcmds' (cloud-init ignores it silently)"]);
  });

  it('fails when a cloud-config breaks the schema', () => {
    const problems = checkCloudConfig('#cloud-config\nwrite_files:\n  - content: x\n', 'no-path');
    expect(problems.join('\n')).toMatch(/cloud-init schema:.*path/s);
  });

  it('fails when a script has a shellcheck finding', () => {
    expect(shellcheck('#!/bin/bash\nrm -rf $1/tmp\n', 'bad.sh').join('\n')).toMatch(/SC2086/);
  });

  it('fails when a shell part in a multipart is not clean, and splits as cloud-init does', () => {
    const text = buildMultipart([
      { filename: 'a.yaml', contentType: 'text/cloud-config', content: '#cloud-config\nruncmd:\n  - [true]\n' },
      { filename: '10-x.sh', contentType: 'text/x-shellscript', content: '#!/bin/bash\necho $UNQUOTED_VAR\n' },
    ]);
    expect(splitUserData(text).map((p) => p.filename)).toEqual(['a.yaml', '10-x.sh']);
    const report = staticCheckUserData(text, 'bad');
    expect(report.problems.join('\n')).toMatch(/bad\/10-x\.sh: line .*SC2086/);
  });

  it('fails when a placeholder has no Heat value', () => {
    const ud = renderEtcdUserData(variants['download + data volume'] as EtcdUserDataContext);
    const values = realisticHeatValues(pki);
    delete values['__ETCD_CA_KEY__'];
    expect(() => substituteAsHeat(ud.text, ud.placeholders, values)).toThrow(/__ETCD_CA_KEY__/);
  });
});
