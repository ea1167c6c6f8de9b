// TLS on the switch's connections, both ways, with certificates made by
// openssl in the test: an active ssl: connection to a TLS controller (the SDK)
// and a passive pssl: listener, each accepted with a certificate from the CA
// the switch was given and refused with one from another CA.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Controller, type SwitchHandle } from '../../src/controller/index.ts';
import { NativeDatapath } from '../../src/datapath/index.ts';
import { Channel } from '../../src/openflow/channel/index.ts';
import type { ConnectionManager, Target, TlsFiles } from '../../src/switch/index.ts';
import { agentWith, connectAgent, silent } from '../support/switch.ts';

const log = silent;
let dir: string;
const pem = (name: string) => readFileSync(join(dir, name));

/** A CA, and a key and certificate it signed for `name`. */
function pki(ca: string, names: string[]): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
  for (const n of names) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${n}`, '-keyout', `${n}.key`, '-out', `${n}.csr`);
    ssl('x509', '-req', '-in', `${n}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-out', `${n}.pem`);
  }
}

const files = (name: string, ca: string): TlsFiles => ({ key: pem(`${name}.key`), cert: pem(`${name}.pem`), ca: pem(`${ca}.pem`) });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsof-tls-'));
  pki('ca', ['switch', 'controller']);
  pki('rogue-ca', ['rogue']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let dp: NativeDatapath;
let conns: ConnectionManager;
let controller: Controller | undefined;
afterEach(async () => {
  await conns.stop();
  await controller?.close();
  controller = undefined;
  dp.close();
});

async function start(targets: Target[]): Promise<void> {
  dp = new NativeDatapath();
  conns = await connectAgent(agentWith(dp, 0x7150n, []), targets, files('switch', 'ca'));
}

/** A TLS controller (the SDK) that asks for the switch's certificate and trusts `ca`. */
async function tlsController(name: string, ca: string): Promise<number> {
  const f = files(name, ca);
  controller = new Controller({ port: 0, host: '127.0.0.1', logger: log, tls: { ...f, requestCert: true, rejectUnauthorized: true } });
  return (await controller.listen()).port;
}

describe('ssl: to a controller', () => {
  it('connects when each side trusts the CA that signed the other', async () => {
    const port = await tlsController('controller', 'ca');
    const up = new Promise<SwitchHandle>((resolve) => controller!.once('switch', resolve));
    await start([{ kind: 'ssl', host: '127.0.0.1', port }]);
    expect((await up).dpid).toBe(0x7150n);
  });

  it('refuses a controller whose certificate another CA signed', async () => {
    const port = await tlsController('rogue', 'ca');
    let connected = false;
    controller!.on('switch', () => (connected = true));
    await start([{ kind: 'ssl', host: '127.0.0.1', port }]);
    await new Promise((r) => setTimeout(r, 700)); // a few attempts at a 200 ms backoff
    expect(connected).toBe(false);
  });
});

describe('pssl: listener', () => {
  /** Connects with TLS as `name`; resolves true once OpenFlow HELLO is exchanged, false when refused. */
  function client(port: number, name: string): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ...files(name, 'ca'), checkServerIdentity: () => undefined });
      socket.once('secureConnect', () => {
        const ch = new Channel(socket, { echoInterval: 5000, echoTimeout: 10000, requestTimeout: 5000, maxPendingRequests: 8, name: 'test' }, log);
        ch.once('open', () => {
          resolve(true);
          ch.close('done');
        });
        ch.once('close', () => resolve(false));
      });
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
    });
  }

  it('serves a client with a certificate from its CA and refuses one from another', async () => {
    await start([{ kind: 'pssl', host: '127.0.0.1', port: 0 }]);
    const port = conns.listening()[0];
    expect(await client(port, 'controller')).toBe(true);
    expect(await client(port, 'rogue')).toBe(false);
  });
});
