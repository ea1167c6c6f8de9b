// The switch's control socket: a Unix socket on which a running tsof-switch
// takes add-port, del-port and list-ports (what ovs-vsctl add-port does for
// Open vSwitch) and trace (ovs-appctl ofproto/trace: a frame's walk through
// the pipeline, changing nothing; trace.ts). One JSON object a line each way:
// {"cmd":"add-port", "ifname":"s1-eth3","port":3} -> {"ok":true,"port":3},
// {"cmd":"trace","port":"1","frame":"<hex>"} -> {"ok":true,"text":"..."}, or
// {"ok":false,"error":"..."}. A trace of a flow is of the frame the CLI composed
// from it (src/controller/packet/compose.ts), with "showFrame":true to print that
// frame too. Only root can reach it (mode 0600, the switch runs as root).

import { createConnection, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { UnixListener } from './unix-socket.ts';

export interface ControlTarget {
  addPort(ifname: string, port?: number): number;
  removePort(nameOrNumber: string): number;
  /** The trace of a frame (hex) received on a port (name or number), as text; the frame in it if showFrame. */
  trace(nameOrNumber: string, frameHex: string, showFrame?: boolean): string;
  readonly agent: { ports(): readonly { port: number; name: string }[] };
}

export type ControlRequest =
  | { cmd: 'add-port'; ifname: string; port?: number }
  | { cmd: 'del-port'; port: string }
  | { cmd: 'list-ports' }
  | { cmd: 'trace'; port: string; frame: string; showFrame?: boolean };

export type ControlReply =
  | { ok: true; port?: number; ports?: { port: number; name: string }[]; text?: string }
  | { ok: false; error: string };

/** Where tsof-switch puts its control socket unless told: one per datapath id. */
export function defaultControlPath(dpid: bigint): string {
  return `/run/tsof/tsof-switch-${dpid.toString(16).padStart(16, '0')}.ctl`;
}

/** Longest request line accepted: a trace's frame, up to 64 KiB in hex, and room around it. */
const MAX_LINE = 160 * 1024;

export class ControlServer {
  private constructor(private readonly listener: UnixListener) {}

  static async listen(path: string, target: ControlTarget, log: Logger): Promise<ControlServer> {
    const serve = (socket: Socket) => {
      let buffered = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        if (buffered.length > MAX_LINE && !buffered.includes('\n')) {
          socket.end(JSON.stringify({ ok: false, error: 'request line too long' }) + '\n');
          return;
        }
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const reply = execute(line, target);
          if (!reply.ok) log.warn({ request: line, error: reply.error }, 'control request refused');
          socket.write(JSON.stringify(reply) + '\n');
        }
      });
      socket.on('error', () => socket.destroy());
    };
    return new ControlServer(await UnixListener.listen(path, serve, log, 'give --ctl another path', 'control socket ready'));
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}

function execute(line: string, target: ControlTarget): ControlReply {
  let req: ControlRequest;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not a JSON object' };
  }
  try {
    switch (req.cmd) {
      case 'add-port':
        if (typeof req.ifname !== 'string' || !req.ifname) return { ok: false, error: 'add-port needs an interface name' };
        return { ok: true, port: target.addPort(req.ifname, req.port ?? 0) };
      case 'del-port':
        return { ok: true, port: target.removePort(String(req.port)) };
      case 'list-ports':
        return { ok: true, ports: target.agent.ports().map((p) => ({ port: p.port, name: p.name })) };
      case 'trace':
        if (typeof req.frame !== 'string') return { ok: false, error: 'trace needs the frame in hex' };
        return { ok: true, text: target.trace(String(req.port), req.frame, req.showFrame === true) };
      default:
        return { ok: false, error: `unknown command "${(req as { cmd: unknown }).cmd}"` };
    }
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Sends one request to a running switch and resolves with its reply. */
export function controlRequest(path: string, req: ControlRequest): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) {
        socket.end();
        resolve(JSON.parse(text.slice(0, text.indexOf('\n'))));
      }
    });
    socket.on('error', (err) => reject(new Error(`cannot reach the switch at ${path}: ${err.message}`)));
  });
}
