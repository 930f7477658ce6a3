/** Names of generated classes, modules and members, derived from Heat's names. Pure functions. */

/** `OS::Nova::Server` -> `nova`; `OS::Neutron::LBaaS::Pool` -> `neutron`; every `AWS::*` -> `aws`. */
export function moduleOf(heatType: string): string {
  const parts = heatType.split('::');
  if (parts[0] === 'AWS') return 'aws';
  return (parts[1] ?? parts[0]!).toLowerCase();
}

/** Upper-case first letter; an all-caps word of 3+ letters (`EC2`, `IAM`, `OS`) becomes `Ec2`, `Iam`, `Os`. */
function typeWord(word: string): string {
  if (/^[A-Z0-9]+$/.test(word) && word.length > 1) return word[0] + word.slice(1).toLowerCase();
  return word[0]!.toUpperCase() + word.slice(1);
}

/** `OS::Nova::Server` -> `OsNovaServer`; `AWS::EC2::Instance` -> `AwsEc2Instance`; `OS::Neutron::LBaaS::Pool` -> `OsNeutronLBaaSPool`. */
export function classNameOf(heatType: string): string {
  return heatType
    .split('::')
    .map((w) => w.replace(/[^A-Za-z0-9]/g, ''))
    .filter((w) => w.length > 0)
    .map(typeWord)
    .join('');
}

/** Split a Heat name into lower-case words: snake_case, kebab-case, dotted, PascalCase and ALLCAPS runs. */
export function words(name: string): string[] {
  const out: string[] = [];
  for (const chunk of name.split(/[^A-Za-z0-9]+/)) {
    if (chunk === '') continue;
    // "SSLCertificateId" -> SSL, Certificate, Id ; "accessIPv4" -> access, I, Pv4 is avoided by the digit rule below
    const parts = chunk.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+[a-z]*/g) ?? [chunk];
    for (const p of parts) out.push(p.toLowerCase());
  }
  return out;
}

/** Heat property name -> TypeScript camelCase: `admin_state_up` -> `adminStateUp`, `SSLCertificateId` -> `sslCertificateId`. */
export function camelCase(name: string): string {
  const w = words(name);
  if (w.length === 0) throw new Error(`cannot derive a TypeScript name from Heat name ${JSON.stringify(name)}`);
  const s = w.map((x, i) => (i === 0 ? x : x[0]!.toUpperCase() + x.slice(1))).join('');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** `first_address` -> `FirstAddress`. */
export function pascalCase(name: string): string {
  const c = camelCase(name).replace(/^_/, '');
  return c[0]!.toUpperCase() + c.slice(1);
}

/** Whether a string can be written as a bare property key in TypeScript. */
export function isIdentifier(name: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name);
}

/** A key for an object literal or interface member: bare when possible, quoted otherwise. */
export function propertyKey(name: string): string {
  return isIdentifier(name) ? name : JSON.stringify(name);
}
