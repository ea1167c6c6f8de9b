// The switch agent's tests build switches without root or processes: an agent
// over a native datapath with memory ports, and a connection manager that
// hands it every channel as a controller's. The interop tests run the real
// thing: tsof-switch as a process, logging JSON (runSwitch).

import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ConnectionManager, SwitchAgent, type Target, type TlsFiles } from '../../src/switch/index.ts';
import type { NativeDatapath } from '../../src/datapath/index.ts';
import { Daemon } from './daemon.ts';

export const silent = pino({ level: 'silent' });

/** An agent over dp with memory ports. */
export function agentWith(dp: NativeDatapath, dpid: bigint, ports: number[]): SwitchAgent {
  const agent = new SwitchAgent({ datapath: dp, dpid, log: silent });
  for (const port of ports) agent.addPort({ kind: 'memory', port });
  return agent;
}

/** Connections for agent to these targets, started; a short backoff so that tests retry quickly. */
export async function connectAgent(agent: SwitchAgent, targets: Target[], tls?: TlsFiles): Promise<ConnectionManager> {
  const conns = new ConnectionManager(
    {
      targets,
      tls,
      channel: { echoInterval: 5000, echoTimeout: 10000, requestTimeout: 5000, maxPendingRequests: 64 },
      maxBackoff: 200,
      maxConnections: 8,
      log: silent,
    },
    (ch) => agent.attach(ch, false),
  );
  await conns.start();
  return conns;
}

/** Runs bin/tsof-switch.js with these flags and --json; resolves once it has started (its log says so). */
export async function runSwitch(flags: string[]): Promise<Daemon> {
  const bin = fileURLToPath(new URL('../../bin/tsof-switch.js', import.meta.url));
  const sw = new Daemon('tsof-switch', process.execPath, [bin, ...flags, '--json']);
  try {
    await sw.waitLog('tsof-switch started');
  } catch (e) {
    await sw.stop();
    throw e;
  }
  return sw;
}
