import { describe, expect, it } from 'vitest';
import { CONDITION_FUNCTION_SINCE, FUNCTION_SINCE, HOT_VERSIONS } from '../../src/core/versions.js';
import { readSnapshot } from '../../src/heat/gen/generate.js';
import { HEAT_ENGINE_VERSION, HOT_TEMPLATE_VERSIONS } from '../../src/heat/generated/hot-versions.generated.js';
import { HEAT_RESOURCE_TYPES } from '../../src/heat/generated/resource-catalog.generated.js';

const snapshot = readSnapshot();

describe('committed Heat schema snapshot', () => {
  it('names the Heat release it was dumped from', () => {
    expect(snapshot.heatVersion).toBe('19.0.0');
    expect(HEAT_ENGINE_VERSION).toBe('19.0.0');
  });

  it('covers the services a Kubernetes cluster on OpenStack uses', () => {
    const services = new Set(Object.keys(snapshot.resourceTypes).map((t) => t.split('::')[1]));
    for (const s of [
      'Nova',
      'Neutron',
      'Octavia',
      'Cinder',
      'Heat',
      'Aodh',
      'Barbican',
      'Swift',
      'Designate',
      'Manila',
      'Keystone',
      'Glance',
    ]) {
      expect(services, `service ${s}`).toContain(s);
    }
    for (const t of [
      'OS::Nova::Server',
      'OS::Neutron::Port',
      'OS::Octavia::LoadBalancer',
      'OS::Heat::ResourceGroup',
      'OS::Heat::SoftwareDeployment',
      'OS::Cinder::Volume',
    ]) {
      expect(HEAT_RESOURCE_TYPES[t]?.className, t).toBeDefined();
    }
    expect(Object.keys(snapshot.resourceTypes).length).toBeGreaterThan(190);
  });

  it('records property details the generator relies on', () => {
    const server = snapshot.resourceTypes['OS::Nova::Server']!;
    expect(server.properties['flavor']).toMatchObject({ type: 'string', required: true, updateAllowed: true });
    expect(server.properties['flavor']!.constraints).toContainEqual({ kind: 'custom_constraint', value: 'nova.flavor' });
    expect(server.properties['networks']!.items!.schema!['port']).toMatchObject({ type: 'string' });
    expect(server.attributes['first_address']).toBeDefined();
    expect(snapshot.resourceTypes['OS::Nova::Flavor']!.adminOnly).toBe(true);
    expect(snapshot.resourceTypes['OS::Nova::FloatingIP']!.hidden).toBe(true);
  });

  it('agrees with the hand-written version table in src/core/versions.ts', () => {
    expect(Object.keys(HOT_TEMPLATE_VERSIONS).sort()).toEqual([...HOT_VERSIONS]);
    const since = (key: 'functions' | 'conditionFunctions'): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const d of Object.keys(HOT_TEMPLATE_VERSIONS).sort())
        for (const f of HOT_TEMPLATE_VERSIONS[d]![key]) if (!f.includes('::') && f !== 'Ref') out[f] ??= d; // CFN functions of 2013-05-23 aside
      return out;
    };
    expect(since('functions')).toEqual({ ...FUNCTION_SINCE });
    expect(since('conditionFunctions')).toEqual({ ...CONDITION_FUNCTION_SINCE });
  });
});
