// The switch's Unix sockets (the control socket, a bridge's NAME.mgmt and
// NAME.snoop): made in their directory, only root's (mode 0600), refused when
// a live one is there already (another switch's: never taken over), a dead one
// left by a killed switch replaced, and removed on close.

import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

/** Whether something listens on the Unix socket at path. */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

export class UnixListener {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listens at path; `busy` says, when a live socket is there, which flag gives another path. */
  static async listen(path: string, accept: (socket: Socket) => void, log: Logger, busy: string, ready: string): Promise<UnixListener> {
    mkdirSync(dirname(path), { recursive: true });
    if (await answers(path)) throw new Error(`${path}: another tsof-switch is running there (${busy})`);
    rmSync(path, { force: true });
    const server = createServer(accept);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        server.on('error', (err) => log.error({ err, path }, 'listener failed'));
        resolve();
      });
    });
    chmodSync(path, 0o600);
    log.info({ path }, ready);
    return new UnixListener(server, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((done) => this.server.close(() => done()));
    rmSync(this.path, { force: true });
  }
}
