/**
 * The fast YAML emitter against js-yaml's dump with the same options: byte-identical on random documents built from
 * the characters and shapes that make YAML hard (indicators, quotes, blank and space-led lines, trailing newlines,
 * tabs, control and non-BMP characters, words YAML reads as booleans or numbers), and on every template we write.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitYaml, toYaml, yamlDump } from '../../src/core/yaml.js';
import { synthesize } from '../../src/index.js';
import { listPrograms, loadProgram } from '../lib/programs.js';

const tricky = [...'abcXYZ019_-./: #\'"\n\t\\,[]{}&*!|>%@`?=~+ü€();', '\u0007', '\u2028', '\ufeff', '𝄞', '\ud800', '  ', '\n\n', ' \n'];
const words = [
  'yes',
  'No',
  'ON',
  'off',
  'y',
  'n',
  'true',
  'False',
  'null',
  '~',
  '0',
  '-1',
  '0x1F',
  '1e3',
  '.inf',
  '.nan',
  '1_000',
  '12:30',
  '2018-08-31',
  '<<',
  '-',
  '---',
  '...',
  'get_param',
  'OS::Nova::Server',
  '%index%',
  'Worker group pool2',
  'yes no',
  'Yes ',
  'a (b) c; d=e, f+g',
  'Numbers (2 for bench-pool31-2) or names',
  'x: y',
  'x #y',
  'x -',
  'x=',
];
const text = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...tricky), { maxLength: 12 }).map((cs) => cs.join('')) },
  { weight: 2, arbitrary: fc.constantFrom(...words) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_./-]{0,10}$/) },
  // prose, as descriptions are: the emitter writes it plain itself unless a `:`, `#` or trailing space needs quotes
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9 (),;=+:#._/-]{1,16}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20, unit: 'grapheme' }) },
);
const scalar = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);
const { doc } = fc.letrec((tie) => ({
  doc: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('doc'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(text, fc.constantFrom('a', 'type', 'properties', 'y')), tie('doc'), { maxKeys: 4 }),
  ),
}));

describe('YAML emitter (property)', () => {
  it('writes exactly what js-yaml dumps', () => {
    let runs = 0;
    let handled = 0;
    fc.assert(
      fc.property(doc, (d) => {
        runs++;
        const fast = emitYaml(d);
        if (fast !== undefined) {
          handled++;
          expect(fast).toBe(yamlDump(d));
        }
        expect(toYaml(d)).toBe(yamlDump(d));
      }),
      { numRuns: 3000 },
    );
    // the emitter itself wrote nearly all of them (it leaves only keys with line breaks to js-yaml)
    expect(handled / runs).toBeGreaterThan(0.8);
  });

  it('handles the documents of every stack and example itself, byte for byte as js-yaml', async () => {
    for (const p of listPrograms()) {
      const result = await synthesize(await loadProgram(p), { write: false, checkers: [] });
      for (const [file, text] of result.files) {
        if (!file.endsWith('.yaml')) continue;
        const parsed = (await import('js-yaml')).load(text);
        const fast = emitYaml(parsed);
        expect(fast, `${p.name}/${file}: the fast emitter gave up`).toBeDefined();
        expect(fast, `${p.name}/${file}`).toBe(yamlDump(parsed));
      }
    }
  });
});
