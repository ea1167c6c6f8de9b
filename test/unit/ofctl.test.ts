// tsof-ofctl run as users run it: `node bin/tsof-ofctl.js ...` in a subprocess.
// Expected lines come from formatMessage(), so these tests check what the CLI
// adds (framing, hex input, stdin and files, errors, exit codes), not the printer.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  formatMessage,
  OFPFC,
  OFPP,
  OFP_NO_BUFFER,
  OFPG,
  toHex,
} from '../../src/openflow/codec/index.ts';

const BIN = fileURLToPath(new URL('../../bin/tsof-ofctl.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'tsof-ofctl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], opts: { input?: string | Uint8Array; bin?: string } = {}) {
  const r = spawnSync(process.execPath, [opts.bin ?? BIN, ...args], { input: opts.input, encoding: 'utf8', cwd: tmp });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What the CLI must print for these bytes: formatMessage of the decoded message. */
function line(bytes: Uint8Array): string {
  const r = decodeMessage(bytes);
  if (!r.ok) throw new Error(`test message does not decode: ${r.detail}`);
  return formatMessage(r.msg);
}

const hello = encodeMessage({ type: 'hello', xid: 10, elements: [] });
const flowMod = encodeMessage({
  type: 'flow_mod',
  xid: 5,
  cookie: 0x1234n,
  cookieMask: 0n,
  tableId: 0,
  command: OFPFC.ADD,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 100,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.ANY,
  outGroup: OFPG.ANY,
  flags: 0,
  match: [
    { field: 'in_port', value: 1 },
    { field: 'eth_type', value: 0x0800 },
    { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
  ],
  instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
});
const flowStatsReply = encodeMessage({
  type: 'flow_stats_reply',
  xid: 7,
  flags: 0,
  stats: [
    {
      tableId: 0,
      durationSec: 1,
      durationNsec: 2,
      priority: 3,
      idleTimeout: 0,
      hardTimeout: 0,
      flags: 0,
      cookie: 0n,
      packetCount: 5n,
      byteCount: 6n,
      match: [{ field: 'in_port', value: 1 }],
      instructions: [],
    },
  ],
});
const barrierReply = encodeMessage({ type: 'barrier_reply', xid: 1 });

/** The flow_mod with its first OXM (in_port, at byte 52) turned into unknown field 45. */
const badFlowMod = flowMod.slice();
badFlowMod[54] = 45 << 1;

describe('tsof-ofctl ofp-print', () => {
  it('prints a message given as hex with whitespace and 0x prefixes', () => {
    const r = run(['ofp-print', '0x04 00 00 08\n  00 00 00 0a']);
    expect(r).toEqual({ status: 0, stdout: line(hello) + '\n', stderr: '' });
  });

  it('prints messages back to back one per line (flow_mod, multipart reply)', () => {
    const r = run(['ofp-print', toHex(flowMod) + ' ' + toHex(flowStatsReply)]);
    expect(r).toEqual({ status: 0, stdout: `${line(flowMod)}\n${line(flowStatsReply)}\n`, stderr: '' });
  });

  it('reads hex from stdin with -, and binary with --raw FILE', () => {
    expect(run(['ofp-print', '-'], { input: `${toHex(barrierReply)}\n${toHex(hello)}\n` })).toEqual({
      status: 0,
      stdout: `${line(barrierReply)}\n${line(hello)}\n`,
      stderr: '',
    });
    const file = join(tmp, 'msgs.bin');
    writeFileSync(file, flowStatsReply);
    expect(run(['ofp-print', '--raw', file]).stdout).toBe(line(flowStatsReply) + '\n');
  });

  it('reports a malformed message as the OFPT_ERROR it deserves, marks the offset, goes on, and reports a cut', () => {
    const r = run(['ofp-print', toHex(badFlowMod) + toHex(hello) + toHex(hello).slice(0, -2)]);
    expect(r.status).toBe(1);
    const out = r.stdout.split('\n');
    const fault = decodeMessage(badFlowMod);
    expect(fault.ok).toBe(false);
    expect(out[0]).toBe(
      `OFPT_ERROR-worthy: OFPBMC_BAD_FIELD (OFPET_BAD_MATCH) at offset 52: ${fault.ok ? '' : fault.detail}`,
    );
    // The dump row holding byte 0x30..0x3f, then a caret under byte 52 (the 5th of that row).
    expect(out[4]).toMatch(/^00000030  00 01 00 1e 80 00 5a 04-/);
    expect(out[5]).toBe(' '.repeat(10 + 3 * 4) + '^^ offset 52');
    expect(out[out.indexOf(line(hello)) + 1]).toBe(
      'OFPT_ERROR-worthy: OFPBRC_BAD_LEN (OFPET_BAD_REQUEST) at offset 7: message cut short: its header says 8 bytes, the input has 7',
    );
  });

  it('reports input that is not hex, exiting 1', () => {
    const notHex = run(['ofp-print', '04zz']);
    expect(notHex).toEqual({ status: 1, stdout: '', stderr: "tsof-ofctl: not hex: 'z' at character 3 of the input\n" });
  });

  it('names a bad flag, an unknown command and a missing HEX, exiting 2', () => {
    expect(run(['ofp-print', '--fil', 'x'])).toEqual({ status: 2, stdout: '', stderr: "tsof-ofctl: unknown option '--fil'\n" });
    const cmd = run(['ofp-prnt', '00']);
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command 'ofp-prnt'/);
    const missing = run(['ofp-print']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/'ofp-print' needs HEX/);
  });

  it('runs through a symlink from another directory (npm link, node_modules/.bin)', () => {
    const link = join(tmp, 'tsof-ofctl');
    symlinkSync(BIN, link);
    const r = run(['--version'], { bin: link });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^tsof-ofctl \(tsof\) \d+\.\d+\.\d+/);
  });
});
