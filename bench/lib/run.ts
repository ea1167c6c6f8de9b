// What the benchmarks share for running commands and printing results: a
// synchronous command runner, a quiet one for cleanup, processes started in a
// group of their own (so that stopping one reaches what it forks), and the
// median and number format of the tables in docs/benchmarks.md.

import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';

/** Runs a command; its stdout, trimmed. Throws when it fails. */
export const sh = (cmd: string, ...args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 }).trim();

/** Runs a command that may fail harmlessly (cleanup of something that may not exist). */
export const quiet = (cmd: string, ...args: string[]): void => {
  try {
    sh(cmd, ...args);
  } catch {
    // nothing to clean up
  }
};

export interface Started {
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** Runs a command in a process group of its own, so stop() reaches what it forks (trafgen's worker). */
export function start(cmd: string, args: string[], opts: SpawnOptions = { stdio: 'ignore' }): Started {
  const child = spawn(cmd, args, { ...opts, detached: true });
  // Listened for from the start: the exit may come while a synchronous command blocks the loop.
  return { child, exited: once(child, 'exit') };
}

export async function stop({ child, exited }: Started, signal: NodeJS.Signals): Promise<void> {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group has gone already
  }
  await exited;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const fmt = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** One of the things a benchmark compares: a switch attached to the benchmark's ports for its turn, or a mode. */
export interface Contender {
  name: string;
  attach?(): void;
  detach?(): void;
}

/**
 * Runs each contender once a round, attached for its turn, in an order that rotates every round, so all of them
 * see the same moments of a shared machine; each contender's results in round order.
 */
export async function takeTurns<C extends Contender, T>(contenders: C[], rounds: number, run: (c: C) => Promise<T>): Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(r + i) % contenders.length]!;
      process.stderr.write(`round ${r + 1}: ${c.name}\n`);
      c.attach?.();
      try {
        out.get(c.name)!.push(await run(c));
      } finally {
        c.detach?.();
      }
    }
  }
  return out;
}
