import { describe, expect, it } from 'vitest';
import { CONDITION_FUNCTION_SINCE, FUNCTION_SINCE, HOT_VERSIONS, versionAtLeast } from '../../src/core/versions.js';
import { HOT_TEMPLATE_VERSIONS } from '../../src/heat/generated/hot-versions.generated.js';

// The core's table of which version introduced which function must agree with Heat's own template classes,
// as dumped from the engine into the committed snapshot.
describe('HOT version table agrees with the Heat engine', () => {
  it('knows exactly the engine versions', () => {
    expect([...HOT_VERSIONS]).toEqual(Object.keys(HOT_TEMPLATE_VERSIONS).sort());
  });

  for (const version of HOT_VERSIONS) {
    it(`${version}: the same HOT functions and condition functions`, () => {
      const engine = HOT_TEMPLATE_VERSIONS[version]!;
      const hotFunctions = engine.functions.filter((f) => /^[a-z_]+$/.test(f)).sort();
      const ours = Object.keys(FUNCTION_SINCE)
        .filter((f) => versionAtLeast(version, FUNCTION_SINCE[f]!))
        .sort();
      expect(ours).toEqual(hotFunctions);
      const oursCond = Object.keys(CONDITION_FUNCTION_SINCE)
        .filter((f) => versionAtLeast(version, CONDITION_FUNCTION_SINCE[f]!))
        .sort();
      expect(oursCond).toEqual([...engine.conditionFunctions].sort());
    });
  }
});
