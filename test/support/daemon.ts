// Processes the interop tests run beside them (switches, controllers): a
// child whose output lines are kept, to wait on and to show when a test fails,
// and the kernel's pick of a free TCP port for it to use.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const execFileP = promisify(execFile);

export interface Result {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command to the end in cwd (stdin: input, if given); a non-zero exit is a result, not a throw. */
export async function exec(cwd: string, cmd: string, args: string[], input?: string): Promise<Result> {
  try {
    const p = execFileP(cmd, args, { encoding: 'utf8', cwd, maxBuffer: 1 << 26 });
    if (input !== undefined) p.child.stdin!.end(input);
    const { stdout, stderr } = await p;
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: unknown; message: string };
    return { stdout: err.stdout ?? '', stderr: err.stderr ?? err.message, code: typeof err.code === 'number' ? err.code : 1 };
  }
}

export async function eventually(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); await sleep(50)) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
  }
}

/** A TCP port nothing listens on now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A pino JSON log line as an object; undefined for any other line. */
function record(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A daemon run as a child process; its output lines are kept, to wait on and to show when a test fails. */
export class Daemon {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<void>;
  private done = false;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    env: Record<string, string> = {},
  ) {
    this.proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [this.proc.stdout!, this.proc.stderr!]) createInterface({ input: s }).on('line', (l) => this.lines.push(l));
    this.exited = new Promise((resolve) => {
      const end = () => ((this.done = true), resolve());
      this.proc.once('exit', end);
      this.proc.once('error', (err) => (this.lines.push(`cannot run ${cmd}: ${err.message}`), end()));
    });
  }

  get running(): boolean {
    return !this.done;
  }

  /** The JSON log records (tsof's --json) with this message. */
  logs(msg: string): Record<string, unknown>[] {
    return this.lines.map(record).filter((r): r is Record<string, unknown> => r?.msg === msg);
  }

  async waitLog(msg: string, test: (r: Record<string, unknown>) => boolean = () => true, ms = 15_000): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await eventually(() => {
      if (!this.running) throw new Error(`${this.name} exited while waiting for "${msg}":\n${this.tail()}`);
      return (found = this.logs(msg).find(test)) !== undefined;
    }, `${this.name}: "${msg}"\n${this.tail()}`, ms);
    return found!;
  }

  tail(n = 20): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Ends the process with this signal, and with SIGKILL if it is still there after 5 s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
