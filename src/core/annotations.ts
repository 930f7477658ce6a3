import type { IConstruct } from 'constructs';

const WARNING = 'hotk8s:warning';
const INFO = 'hotk8s:info';

/** Non-fatal advice attached to a construct; the CLI prints it after synthesis. */
export class Annotations {
  static of(scope: IConstruct): Annotations {
    return new Annotations(scope);
  }
  private constructor(private readonly scope: IConstruct) {}

  addWarning(message: string): void {
    this.scope.node.addMetadata(WARNING, message);
  }
  addInfo(message: string): void {
    this.scope.node.addMetadata(INFO, message);
  }
}

export interface Annotation {
  readonly level: 'warning' | 'info';
  readonly path: string;
  readonly message: string;
}

/** All annotations below a root, in tree order. */
export function collectAnnotations(root: IConstruct): Annotation[] {
  const out: Annotation[] = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type === WARNING || m.type === INFO) {
        out.push({ level: m.type === WARNING ? 'warning' : 'info', path: c.node.path, message: String(m.data) });
      }
    }
  }
  return out;
}
