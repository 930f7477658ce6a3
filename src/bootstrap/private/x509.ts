/**
 * @peculiar/x509, loaded on first use. Only issuing certificates needs it; loading and checking what the state
 * directory holds is done with node:crypto, so a re-synth never pays for this library and the reflect-metadata
 * polyfill its dependency tsyringe requires (together ~110 ms of module loading, ~47 ms from the bundle).
 */
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { noteUncommonWork } from '../../private/compile-cache.js';

let loading: Promise<typeof X509> | undefined;

/** The library, with Node's WebCrypto as its provider. */
export function loadX509(): Promise<typeof X509> {
  loading ??= (async () => {
    // code a re-synth never runs: this process's compiled code is not saved for the next (src/private/compile-cache.ts)
    noteUncommonWork();
    // tsyringe (a dependency of @peculiar/x509) throws at load unless the Reflect metadata polyfill is present.
    await import('reflect-metadata');
    const mod = await import('@peculiar/x509');
    // CommonJS: Node gives named exports; the bundle (scripts/bundle.mjs) gives module.exports as `default`
    const x509 = ('cryptoProvider' in mod ? mod : (mod as unknown as { default: typeof X509 }).default) as typeof X509;
    // The library's types name DOM's Crypto; Node's webcrypto implements it.
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return loading;
}

/** Whether {@link loadX509} has been called in this process (for the test that a re-synth never loads it). */
export function x509Requested(): boolean {
  return loading !== undefined;
}
