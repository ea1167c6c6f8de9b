// What the benchmarks that run tsof-switch as a process share: starting it
// without ports, secure, with a passive listener for ovs-ofctl and its own
// control socket, and waiting until that socket answers. It runs as installed:
// the compiled dist/ under plain node (built first when src/ is newer), not the
// sources through tsx as bin/ runs them in a checkout, whose loader thread and
// compiled modules cost 20-40 MiB and some CPU that users do not pay.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const COMPILED = 'dist/cli/switch.js';
/** The newest modification time of the files under dir. */
const newest = (dir: string): number =>
  Math.max(...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
let built = false;
function ensureBuilt(): void {
  if (built) return;
  let stale: boolean;
  try {
    stale = statSync(COMPILED).mtimeMs < newest('src');
  } catch {
    stale = true;
  }
  if (stale) execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  built = true;
}
/** node's arguments that run the compiled tsof-switch with args, as bin/tsof-switch.js runs it when installed. */
const compiled = (...args: string[]): string[] => [
  '--input-type=module',
  '-e',
  'const { main } = await import(process.argv[1]); process.exitCode = await main(process.argv.slice(2));',
  `./${COMPILED}`,
  ...args,
];

/** Runs `tsof-switch --ctl ctl VERB ARGS...`; its stdout. */
export const tsofCtl = (ctl: string, ...args: string[]): string =>
  execFileSync('node', (ensureBuilt(), compiled('--ctl', ctl, ...args)), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/**
 * Starts tsof-switch (dpid hex, listener on 127.0.0.1:port, control socket ctl, and `more` options such as
 * --controller); resolves once it answers.
 */
export async function startTsofSwitch(dpid: string, port: number, ctl: string, ...more: string[]): Promise<ChildProcess> {
  ensureBuilt();
  const child = spawn('node', compiled('--dpid', `0x${dpid}`, '--fail-mode', 'secure', '--listen', `ptcp:${port}:127.0.0.1`, '--ctl', ctl, '--log-level', 'warn', ...more), {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let tries = 0; ; tries++) {
    await sleep(200);
    if (child.exitCode !== null) throw new Error(`tsof-switch exited with ${child.exitCode}`);
    try {
      tsofCtl(ctl, 'list-ports');
      return child;
    } catch (e) {
      if (tries > 50) {
        child.kill('SIGTERM');
        throw e;
      }
    }
  }
}
