/**
 * What the masters' user-data carries of the agent: this loader (in the ConfigMap). The program itself is the value
 * of the stack resource `AutoscalerProgram` (program.ts), so it costs the user-data nothing, and a stack update brings
 * a new one: the agent exits when the stack holds another program, and its restart comes back through here. Same
 * credential, same catalog choice as the agent; Heat is asked again every 10 s until it answers.
 */
import { gunzipSync } from 'node:zlib';
import { OpenStack } from './openstack.js';
import { readProgram, sha256 } from './program.js';

const env = process.env;
const cloud = new OpenStack({
  authUrl: env.OS_AUTH_URL ?? '',
  credentialId: env.OS_APPLICATION_CREDENTIAL_ID ?? '',
  credentialSecret: env.OS_APPLICATION_CREDENTIAL_SECRET ?? '',
  region: env.OS_REGION_NAME || undefined,
  interface: env.OS_INTERFACE || undefined,
});
let text = await readProgram(cloud, env.HOTK8S_STACK ?? '');
while (text instanceof Error) {
  console.log(`${new Date().toISOString()} warning: the agent program is not readable from stack ${env.HOTK8S_STACK}: ${text.message}`);
  await new Promise((r) => setTimeout(r, Number(env.HOTK8S_RETRY_MS ?? 10_000)));
  text = await readProgram(cloud, env.HOTK8S_STACK ?? '');
}
env.HOTK8S_PROGRAM_SHA256 = sha256(text);
await import(`data:text/javascript;base64,${gunzipSync(Buffer.from(text, 'base64')).toString('base64')}`);
