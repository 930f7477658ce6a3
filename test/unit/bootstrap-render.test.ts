import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BootstrapRenderError,
  base64Size,
  buildMultipart,
  checkIpv4Cidr,
  commonTemplateFields,
  findPlaceholders,
  gzipBase64,
  placeholder,
  renderCommonLibrary,
  renderTemplate,
  shellQuote,
  substitutePlaceholders,
  templateNames,
  stripShellComments,
  renderCommonLibrary,
  commonContext,
} from '../../src/bootstrap/render.js';

describe('placeholders', () => {
  it('makes Heat tokens from names', () => {
    expect(placeholder('ETCD_INITIAL_CLUSTER')).toBe('__ETCD_INITIAL_CLUSTER__');
  });
  it('fails when a name is not upper case with single underscores', () => {
    for (const bad of ['etcd', 'A__B', '_A', 'A_', '', 'A-B']) expect(() => placeholder(bad)).toThrow(BootstrapRenderError);
  });
  it('finds tokens, sorted and unique, ignoring lower-case dunder names', () => {
    expect(findPlaceholders('x __B__ y __A_1__ __B__ __init__ ____')).toEqual(['__A_1__', '__B__']);
  });
  it('substitutes in one pass like Heat, never re-substituting a value', () => {
    expect(substitutePlaceholders('a=__A__ b=__B__', { __A__: '__B__', __B__: 'x' })).toBe('a=__B__ b=x');
  });
  it('fails when a substitution key does not occur', () => {
    expect(() => substitutePlaceholders('a', { __A__: '1' })).toThrow(/__A__ does not occur/);
  });
});

describe('templates', () => {
  it('knows the common and etcd templates', () => {
    expect(templateNames()).toEqual(
      expect.arrayContaining(['common/lib.sh', 'common/preamble.sh', 'etcd/bootstrap.sh', 'etcd/cloud-config.yaml']),
    );
  });
  it('fails on an unknown template, naming it', () => {
    expect(() => renderTemplate('nope/x', {})).toThrow(/no bootstrap template named "nope\/x"/);
  });
  it('fails when the context lacks a field (strict), naming the template', () => {
    expect(() => renderTemplate('common/lib.sh', { role: 'etcd' })).toThrow(/template common\/lib.sh/);
  });
  it('renders the common library without placeholders and compresses it deterministically', () => {
    const lib = renderCommonLibrary({ role: 'worker', podCidr: '10.244.0.0/16' });
    expect(lib.startsWith('#!/bin/bash\n')).toBe(true);
    expect(lib).toContain("HK_POD_CIDR='10.244.0.0/16'");
    expect(findPlaceholders(lib)).toEqual([]);
    const f1 = commonTemplateFields({ role: 'worker', podCidr: '10.244.0.0/16' });
    const f2 = commonTemplateFields({ role: 'worker', podCidr: '10.244.0.0/16' });
    expect(f1.libGzB64).toBe(f2.libGzB64);
    expect(gunzipSync(Buffer.from(f1.libGzB64, 'base64')).toString()).toBe(lib);
  });
});

describe('helpers', () => {
  it('quotes shell words', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
  it('refuses to compress text with a placeholder', () => {
    expect(() => gzipBase64('x __A__')).toThrow(/__A__/);
  });
  it('checks IPv4 CIDRs', () => {
    expect(() => checkIpv4Cidr('podCidr', '10.244.0.0/16')).not.toThrow();
    expect(() => checkIpv4Cidr('podCidr', '10.244.1.0/16')).toThrow(/host bits/);
    expect(() => checkIpv4Cidr('podCidr', '10.300.0.0/16')).toThrow(/got "10.300.0.0\/16"/);
  });
  it('measures Nova size as base64 length', () => {
    expect(base64Size('abc')).toBe(4);
  });
});

describe('buildMultipart', () => {
  const parts = [
    { filename: 'cloud-config.yaml', contentType: 'text/cloud-config', content: '#cloud-config\nruncmd: []\n' },
    { filename: '50-x.sh', contentType: 'text/x-shellscript', content: '#!/bin/bash\necho hi\n' },
  ] as const;
  it('is deterministic and content-addressed', () => {
    const a = buildMultipart([...parts]);
    expect(buildMultipart([...parts])).toBe(a);
    expect(a).toMatch(/^Content-Type: multipart\/mixed; boundary="==hotk8s-[0-9a-f]{24}=="\nMIME-Version: 1.0\n/);
    expect(a).toContain('Content-Disposition: attachment; filename="50-x.sh"');
  });
  it('fails on non-ASCII content, duplicate names and wrong headers', () => {
    expect(() => buildMultipart([{ ...parts[1], content: '#!/bin/bash\necho é\n' }])).toThrow(/ASCII/);
    expect(() => buildMultipart([parts[1], parts[1]])).toThrow(/used twice/);
    expect(() => buildMultipart([{ ...parts[0], content: 'runcmd: []\n' }])).toThrow(/#cloud-config/);
    expect(() => buildMultipart([])).toThrow(/at least one part/);
  });
});

describe('stripShellComments', () => {
  it('drops full-line comments and keeps the shebang, shellcheck directives and here-document bodies', () => {
    const script = [
      '#!/bin/bash',
      '# a comment',
      '  # an indented comment',
      '# shellcheck disable=SC2034',
      'x=1 # a trailing comment stays',
      "cat >/etc/a <<'EOF'",
      '# data in a here-document',
      'EOF',
      'cat <<-NFT',
      '\t# tab-indented data',
      '\tNFT',
      '# after both',
      'y="#not a comment"',
      '',
    ].join('\n');
    expect(stripShellComments(script)).toBe(
      [
        '#!/bin/bash',
        '# shellcheck disable=SC2034',
        'x=1 # a trailing comment stays',
        "cat >/etc/a <<'EOF'",
        '# data in a here-document',
        'EOF',
        'cat <<-NFT',
        '\t# tab-indented data',
        '\tNFT',
        'y="#not a comment"',
        '',
      ].join('\n'),
    );
  });

  it('is applied to rendered shell templates: the common library carries no full-line comment of its source', () => {
    const lib = renderCommonLibrary(commonContext('worker', '10.244.0.0/16'));
    expect(lib.startsWith('#!')).toBe(true);
    expect(lib).not.toContain('# --------------------------- end of common library');
    expect(stripShellComments(lib)).toBe(lib);
  });
});
