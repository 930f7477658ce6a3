/**
 * Shape of `src/heat/snapshot/heat-schema.json`, written by `dump_heat_schema.py` from the real Heat engine.
 * The generator is a pure function of a value of this type.
 */

export interface SnapshotSupportStatus {
  readonly status: 'SUPPORTED' | 'DEPRECATED' | 'UNSUPPORTED' | 'HIDDEN' | 'UNKNOWN';
  readonly version?: string;
  readonly message?: string;
  readonly previousStatus?: SnapshotSupportStatus;
}

export interface SnapshotConstraint {
  readonly kind: 'length' | 'range' | 'modulo' | 'allowed_values' | 'allowed_pattern' | 'custom_constraint';
  readonly value: unknown;
  readonly description?: string;
}

export type SnapshotPropertyType = 'string' | 'integer' | 'number' | 'boolean' | 'map' | 'list' | 'any';

export interface SnapshotProperty {
  readonly type: SnapshotPropertyType;
  readonly required: boolean;
  readonly updateAllowed: boolean;
  readonly immutable: boolean;
  readonly implemented: boolean;
  readonly supportStatus: SnapshotSupportStatus;
  readonly description?: string;
  readonly default?: unknown;
  readonly constraints?: readonly SnapshotConstraint[];
  /** Known keys of a map property. */
  readonly schema?: Readonly<Record<string, SnapshotProperty>>;
  /** Schema of every item of a list property. */
  readonly items?: SnapshotProperty;
}

export interface SnapshotAttribute {
  readonly type: 'string' | 'map' | 'list' | 'integer' | 'boolean' | 'any';
  readonly description?: string;
  readonly supportStatus: SnapshotSupportStatus;
}

export interface SnapshotResourceType {
  readonly class: string;
  readonly description?: string;
  readonly properties: Readonly<Record<string, SnapshotProperty>>;
  readonly attributes: Readonly<Record<string, SnapshotAttribute>>;
  readonly supportStatus: SnapshotSupportStatus;
  readonly hidden: boolean;
  readonly adminOnly: boolean;
  readonly policy?: string;
  readonly clientName?: string;
  readonly requiredServiceExtension?: string;
  readonly entity?: string;
  readonly updatePolicy?: Readonly<Record<string, SnapshotProperty>>;
  /** Attribute name prefixes Heat answers beyond the static schema (`resource.`), or `*` for any name. */
  readonly dynamicAttributes?: readonly string[];
}

export interface SnapshotFunction {
  readonly status: 'supported' | 'removed' | 'invalid';
  readonly class: string;
}

export interface SnapshotTemplateVersion {
  readonly class: string;
  readonly aliases: readonly string[];
  readonly sections: readonly string[];
  readonly resourceKeys: readonly string[];
  readonly outputKeys: readonly string[];
  readonly deletionPolicies: readonly string[];
  readonly functions: Readonly<Record<string, SnapshotFunction>>;
  readonly conditionFunctions: Readonly<Record<string, SnapshotFunction>>;
  readonly parameter: {
    readonly types: readonly string[];
    readonly keys: readonly string[];
    readonly constraintKinds: readonly string[];
  };
  readonly pseudoParameters: readonly string[];
}

export interface HeatSchemaSnapshot {
  readonly heatVersion: string;
  readonly source?: string;
  readonly customConstraints?: readonly string[];
  readonly resourceTypes: Readonly<Record<string, SnapshotResourceType>>;
  readonly templateVersions: Readonly<Record<string, SnapshotTemplateVersion>>;
}
