import { Construct } from 'constructs';
import { synthesize, type SynthOptions, type SynthResult } from './synthesis.js';

const APP = Symbol.for('hotk8s.App');

export interface AppProps {
  /** Output directory. @default 'hotk8s.out' */
  readonly outdir?: string;
  /** Private state directory for generated secrets (mode 0700). @default '.hotk8s' */
  readonly stateDir?: string;
}

/** The root of a hotk8s program: holds one or more stacks. */
export class App extends Construct {
  static isApp(x: unknown): x is App {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[APP] === true;
  }

  public readonly outdir: string;
  public readonly stateDir: string;

  constructor(props: AppProps = {}) {
    super(undefined as unknown as Construct, '');
    Object.defineProperty(this, APP, { value: true });
    this.outdir = props.outdir ?? 'hotk8s.out';
    this.stateDir = props.stateDir ?? '.hotk8s';
  }

  /** Synthesize every stack: validate, render, check, write the output contract. */
  synth(options: SynthOptions = {}): Promise<SynthResult> {
    return synthesize(this, { outdir: this.outdir, stateDir: this.stateDir, ...options });
  }
}
