// What the benchmark scripts share: a command run in a fresh process under GNU time, and the median of samples.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const TIME = '/usr/bin/time';

/** Whether GNU time is there; else the message that says what to install. */
export function timeMissing() {
  return existsSync(TIME) ? undefined : `${TIME} not found: install Debian's 'time' package (apt-get install -y time)`;
}

/**
 * Run `cmd args` under GNU time, its figures written to `timeFile`. Returns { wall, cpu, rssKiB } (wall and CPU in
 * seconds, as GNU time gives them, 10 ms steps) and `elapsedMs`, the wall time measured here to the microsecond; or
 * { error } when the command failed.
 */
export function timeCommand(cmd, args, { cwd, env = {}, timeFile }) {
  const started = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-o', timeFile, '-f', '%e %U %S %M', cmd, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) return { error: `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}` };
  const [wall, user, sys, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, rssKiB: rss, elapsedMs };
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
