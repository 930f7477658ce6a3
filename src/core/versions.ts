/**
 * HOT template versions and the intrinsic/condition functions each one allows.
 *
 * The table is taken from Heat 19's own template classes (`heat.engine.hot.template`); a unit test compares it with
 * the committed schema snapshot dumped from the engine, so it cannot drift silently.
 */
export const HOT_VERSIONS = [
  '2013-05-23',
  '2014-10-16',
  '2015-04-30',
  '2015-10-15',
  '2016-04-08',
  '2016-10-14',
  '2017-02-24',
  '2017-09-01',
  '2018-03-02',
  '2018-08-31',
  '2021-04-16',
] as const;

export type HotVersion = (typeof HOT_VERSIONS)[number];

/**
 * Default `heat_template_version`: 2018-08-31 (Rocky). Every intrinsic function hotk8s uses exists by 2017-09-01,
 * and Rocky is old enough that every maintained OpenStack cloud accepts it, while 2021-04-16 (Wallaby) would shut
 * out the many clouds still running Heat from Rocky to Victoria.
 */
export const DEFAULT_HOT_VERSION: HotVersion = '2018-08-31';

/** First version that offers each HOT intrinsic function. */
export const FUNCTION_SINCE: Readonly<Record<string, HotVersion>> = {
  get_attr: '2013-05-23',
  get_file: '2013-05-23',
  get_param: '2013-05-23',
  get_resource: '2013-05-23',
  list_join: '2013-05-23',
  resource_facade: '2013-05-23',
  str_replace: '2013-05-23',
  digest: '2015-04-30',
  repeat: '2015-04-30',
  str_split: '2015-10-15',
  map_merge: '2016-04-08',
  if: '2016-10-14',
  map_replace: '2016-10-14',
  yaql: '2016-10-14',
  filter: '2017-02-24',
  str_replace_strict: '2017-02-24',
  contains: '2017-09-01',
  list_concat: '2017-09-01',
  list_concat_unique: '2017-09-01',
  make_url: '2017-09-01',
  str_replace_vstrict: '2017-09-01',
};

/** First version that offers each function inside the `conditions` section. */
export const CONDITION_FUNCTION_SINCE: Readonly<Record<string, HotVersion>> = {
  and: '2016-10-14',
  equals: '2016-10-14',
  get_param: '2016-10-14',
  not: '2016-10-14',
  or: '2016-10-14',
  contains: '2017-09-01',
  yaql: '2017-09-01',
};

export function isHotVersion(value: unknown): value is HotVersion {
  return typeof value === 'string' && (HOT_VERSIONS as readonly string[]).includes(value);
}

/** True when `version` is `since` or newer. */
export function versionAtLeast(version: HotVersion, since: HotVersion): boolean {
  return version >= since; // ISO dates compare lexically
}
