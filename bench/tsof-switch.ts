// What the benchmarks that run tsof-switch as a process share: starting it
// without ports, secure, with a passive listener for ovs-ofctl and its own
// control socket, and waiting until that socket answers.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** Runs `tsof-switch --ctl ctl VERB ARGS...`; its stdout. */
export const tsofCtl = (ctl: string, ...args: string[]): string =>
  execFileSync('node', ['bin/tsof-switch.js', '--ctl', ctl, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/**
 * Starts tsof-switch (dpid hex, listener on 127.0.0.1:port, control socket ctl, and `more` options such as
 * --controller); resolves once it answers.
 */
export async function startTsofSwitch(dpid: string, port: number, ctl: string, ...more: string[]): Promise<ChildProcess> {
  const child = spawn('node', ['bin/tsof-switch.js', '--dpid', `0x${dpid}`, '--fail-mode', 'secure', '--listen', `ptcp:${port}:127.0.0.1`, '--ctl', ctl, '--log-level', 'warn', ...more], {
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
