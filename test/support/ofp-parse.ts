// ovs-ofctl as the oracle of the message printer: what `ovs-ofctl ofp-parse` (Open vSwitch
// 3.1) prints for each of many messages, from one process. Each message is followed by a
// barrier request with a marker xid, whose line cuts the output into one text per message.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from '../../src/openflow/codec/index.ts';

const MARK = 0xfeedf00d;
const SEPARATOR = `OFPT_BARRIER_REQUEST (OF1.3) (xid=0x${MARK.toString(16)}):\n`;

/**
 * ovs-ofctl's text of each message, without its last newline. `more` is the number of
 * -m options (ofp-parse prints at verbosity 2, one more for each).
 */
export function ovsPrintEach(messages: readonly Uint8Array[], more = 0): string[] {
  const mark = encodeMessage({ type: 'barrier_request', xid: MARK });
  const dir = mkdtempSync(join(tmpdir(), 'tsof-ofp-parse-'));
  try {
    const file = join(dir, 'messages.bin');
    writeFileSync(file, Buffer.concat(messages.flatMap((m) => [m, mark])));
    const r = spawnSync('ovs-ofctl', [...Array(more).fill('-m'), 'ofp-parse', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`ovs-ofctl ofp-parse failed: ${r.stderr}`);
    const texts = r.stdout.split(SEPARATOR);
    if (texts.pop() !== '' || texts.length !== messages.length) throw new Error(`ovs-ofctl ofp-parse printed ${texts.length} texts for ${messages.length} messages`);
    return texts.map((t) => t.replace(/\n$/, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
