// The Ryu/os-ken switch test tool against tsof-switch, on a quick subset of its
// 991 cases: a few files of actions (set_field among them) and matches, and one
// group and one meter case (every group and meter case measures throughput for
// 30 s, so one of each). scripts/ryu-switch-test.ts does the work: an Open
// vSwitch netdev bridge as the tester, veths to tsof-switch, os-ken's
// osken-manager driving both; it writes results.json, read here. Every case
// selected must be OK. The whole suite: sudo npx tsx scripts/ryu-switch-test.ts
// --target tsof (results in docs/conformance/ryu-switch.md).
//
// Needs root, Open vSwitch and os-ken (the script installs missing peers). Names
// are unique per run, the tester listens on a free port (not 6653), and the
// script removes what it made.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/daemon.ts';
import { runTesterWaitsAgain, type TesterResults as Results } from '../support/ryu-tester.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CASES = join(ROOT, 'test/fixtures/ryu-switch-of13');

/** Case files (relative to the case tree); "#n" picks one case of a file. */
const QUICK = [
  'action/00_OUTPUT.json',
  'action/17_PUSH_VLAN.json',
  'action/24_DEC_NW_TTL_IPv4.json',
  'action/25_SET_FIELD/11_IPV4_SRC.json',
  'match/00_IN_PORT.json',
  'match/06_VLAN_VID_Mask.json',
  'match/12_IPV4_DST_Mask.json',
  'group/00_ALL.json#1',
  'meter/01_DROP_01_PKTPS_00_100.json#1',
];

const casesIn = (entry: string): number => {
  const [file, pick] = entry.split('#');
  if (pick) return pick.split(',').length;
  const items = JSON.parse(readFileSync(join(CASES, file), 'utf8')) as unknown[];
  return items.filter((i) => typeof i === 'object').length;
};

describe('the os-ken switch tester against tsof-switch (quick subset)', () => {
  const out = mkdtempSync(join(tmpdir(), 'tsof-ryu-switch-'));
  let results: Results;
  let log = '';

  /** Runs the script on these cases, its output in dir; its results.json. */
  async function runTester(cases: string[], dir: string): Promise<Results> {
    const port = await freePort();
    const args = ['--import', 'tsx', 'scripts/ryu-switch-test.ts', '--target', 'tsof', '--port', String(port), '--out', dir];
    // The script gives up by itself first (--timeout, --stall) and then cleans up.
    const flags = ['--quiet', '--timeout', '200', '--stall', '60'];
    const status = await new Promise<number>((resolve) => {
      execFile('node', [...args, ...flags, ...cases], { cwd: ROOT, timeout: 230_000, encoding: 'utf8' }, (err, stdout, stderr) => {
        log += `${stdout}${stderr}`;
        resolve(err ? (typeof err.code === 'number' ? err.code : -1) : 0);
      });
    });
    // 0: all OK, 1: some not; anything else means the run could not be made.
    if (status !== 0 && status !== 1) throw new Error(`ryu-switch-test.ts failed (${status}):\n${log}`);
    return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
  }

  beforeAll(async () => {
    results = await runTester(QUICK, out);
    const again = await runTesterWaitsAgain(results, (cases) => runTester(cases, join(out, 'again')));
    if (again.length) console.log(`run again after the tester's own packet-in timeout: ${again.join(', ')}`);
  }, 480_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every selected case to its end', () => {
    expect(results.aborted, log).toBeUndefined();
    expect(results.totals.total).toBe(QUICK.reduce((n, e) => n + casesIn(e), 0));
    expect(results.totals.notRun).toBe(0);
  });

  const failures = (category: string) =>
    results.cases
      .filter((c) => c.category === category && c.result !== 'OK')
      .map((c) => `${c.file}#${c.index} ${c.description}: ${c.result} ${c.reason ?? ''}`);

  for (const category of ['action', 'match', 'group', 'meter']) {
    it(`passes the ${category} cases`, () => {
      expect(results.cases.some((c) => c.category === category)).toBe(true);
      expect(failures(category)).toEqual([]);
    });
  }
});
