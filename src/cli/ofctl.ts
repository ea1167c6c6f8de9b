// tsof-ofctl: an ovs-ofctl-shaped command line for the tsof codec. Its first
// command, `ofp-print HEX [VERBOSITY]`, cuts the bytes into messages with the
// Framer, decodes each with decodeMessage() and prints it with formatMessage(),
// the codec's one printer, so the CLI shows exactly what logs and tests show.
// A message that does not decode is reported as the OFPT_ERROR a peer would get,
// with a hex dump marking the offset; the messages after it are still printed
// while the length fields still frame the stream.
// Exit status: 0 when everything decoded, 1 for undecodable or unreadable input,
// 2 for a usage error (bad option, unknown command, wrong arguments).

import { readFileSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { decodeMessage, ERR, errorCodeName, errorTypeName, formatMessage, Framer, fromHex, type OfErrorCode } from '../openflow/codec/index.ts';

const PROG = 'tsof-ofctl';

const USAGE = `${PROG}: OpenFlow 1.3 utility of the tsof library
usage: ${PROG} [OPTIONS] COMMAND [ARG...]

Commands:
  ofp-print HEX [VERBOSITY]   decode and print the OpenFlow messages in HEX
                              (whitespace and 0x prefixes allowed; several
                              messages back to back print one per line)
  ofp-print - [VERBOSITY]     the same, reading the hex from standard input

Options:
  --file FILE    ofp-print reads hex from FILE ('-' for standard input)
  --raw FILE     ofp-print reads binary from FILE ('-' for standard input)
  -h, --help     show this help and exit
  -V, --version  show the version and exit

VERBOSITY 5 or more adds a hex dump of every message, as in ovs-ofctl.
Exit status: 0 all decoded, 1 a message did not decode or input was
unreadable, 2 usage error.`;

const OPTIONS = {
  file: { type: 'string' },
  raw: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** A mistake in how the command was called: reported with exit status 2. */
class UsageError extends Error {}
/** Input that cannot be read or is not hex: reported with exit status 1. */
class InputError extends Error {}

type Options = { file?: string; raw?: string };

interface Command {
  args: string;
  max: number;
  run(args: string[], opts: Options): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  'ofp-print': { args: 'HEX [VERBOSITY]', max: 2, run: ofpPrint },
};

/** Parses argv and runs the command; returns the exit status. */
async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptions(argv);
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (values.version) {
      process.stdout.write(`${PROG} (tsof) ${packageVersion()}\n`);
      return 0;
    }
    const [name, ...args] = positionals;
    if (name === undefined) throw new UsageError(`missing command; use --help for help`);
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command '${name}'; use --help for help`);
    if (args.length > cmd.max) throw new UsageError(`'${name}' takes at most ${cmd.max} arguments (${name} ${cmd.args})`);
    return await cmd.run(args, values);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof InputError)) throw e;
    process.stderr.write(`${PROG}: ${e.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/**
 * util.parseArgs in strict mode names the culprit only inside prose meant for
 * another program, so the tokens are checked here and each error names the flag.
 */
function parseOptions(argv: string[]) {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = (OPTIONS as Record<string, { type: string }>)[t.name];
    if (!spec) throw new UsageError(`unknown option '${t.rawName}'`);
    if (spec.type === 'boolean' && t.value !== undefined) throw new UsageError(`option '${t.rawName}' takes no value`);
    // A value that looks like another option means the real value was left out.
    if (spec.type === 'string' && (t.value === undefined || (!t.inlineValue && /^-./.test(t.value)))) {
      throw new UsageError(`option '${t.rawName}' needs a value`);
    }
  }
  return { values: values as Options & { help?: boolean; version?: boolean }, positionals };
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// ---- ofp-print ---------------------------------------------------------------------

async function ofpPrint(args: string[], opts: Options): Promise<number> {
  if (opts.file !== undefined && opts.raw !== undefined) throw new UsageError(`use either --file or --raw, not both`);
  let hexText: string | undefined;
  if (opts.file === undefined && opts.raw === undefined) {
    hexText = args.shift();
    if (hexText === undefined) throw new UsageError(`'ofp-print' needs HEX (or '-', --file FILE, --raw FILE)`);
  }
  if (args.length > 1) throw new UsageError(`'ofp-print' with --file or --raw takes only [VERBOSITY]`);
  const verbosity = args.length ? parseVerbosity(args[0]) : 1;

  let bytes: Uint8Array;
  if (opts.raw !== undefined) bytes = await readInput(opts.raw);
  else {
    const source = hexText === '-' ? '-' : opts.file;
    bytes = parseHex(source === undefined ? hexText! : new TextDecoder().decode(await readInput(source)));
  }
  if (bytes.length === 0) throw new InputError('no bytes to decode');
  return printMessages(bytes, verbosity);
}

function parseVerbosity(s: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`VERBOSITY must be a non-negative integer, got '${s}'`);
  return Number(s);
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return path === '-' ? await buffer(process.stdin) : readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${path === '-' ? 'standard input' : path}: ${(e as Error).message}`);
  }
}

/**
 * Hex as ovs-ofctl takes it: pairs of digits, with any whitespace between them,
 * plus a 0x before any group. The error says where the text stops being hex.
 */
function parseHex(text: string): Uint8Array {
  let digits = '';
  for (const m of text.matchAll(/\S+/g)) {
    const group = m[0].replace(/^0x/i, '');
    const bad = group.search(/[^0-9a-fA-F]/);
    if (bad >= 0) {
      const at = m.index! + m[0].length - group.length + bad;
      throw new InputError(`not hex: '${text[at]}' at character ${at + 1} of the input`);
    }
    digits += group;
  }
  if (digits.length % 2) throw new InputError(`odd number of hex digits (${digits.length}): the last byte is incomplete`);
  return fromHex(digits);
}

/** Prints one line per message; returns 1 if any did not decode. */
function printMessages(bytes: Uint8Array, verbosity: number): number {
  const framer = new Framer();
  const out: string[] = [];
  let status = 0;
  let used = 0;
  const fail = (error: OfErrorCode, offset: number, detail: string, msg: Uint8Array) => {
    out.push(`OFPT_ERROR-worthy: ${errorCodeName(error.type, error.code)} (${errorTypeName(error.type)}) at offset ${offset}: ${detail}`);
    out.push(hexDump(msg, offset));
    status = 1;
  };
  for (const frame of framer.push(bytes)) {
    // A length under 8 cannot frame the rest: show that header and stop.
    if (!frame.ok && frame.fatal) {
      fail(frame.error, 2, frame.detail, bytes.subarray(used, used + 8));
      break;
    }
    // A non-fatal frame (wrong version) is a whole message; decodeMessage names the fault.
    const msg = frame.bytes!;
    used += msg.length;
    const r = decodeMessage(msg);
    if (!r.ok) {
      fail(r.error, r.offset, r.detail, msg);
      continue;
    }
    out.push(formatMessage(r.msg));
    if (verbosity >= 5) out.push(hexDump(msg));
  }
  // Bytes the framer still holds are a message cut short (none after a fatal frame);
  // the mark goes where the input ran out.
  if (framer.buffered > 0) {
    const tail = bytes.subarray(used);
    const detail =
      tail.length >= 4
        ? `message cut short: its header says ${(tail[2] << 8) | tail[3]} bytes, the input has ${tail.length}`
        : `input ends ${tail.length} bytes into a message header`;
    fail(ERR.BAD_REQUEST.BAD_LEN, tail.length, detail, tail);
  }
  process.stdout.write(out.join('\n') + '\n');
  return status;
}

/**
 * The ovs-ofctl hex dump (offset, 16 bytes with a '-' after the eighth, ASCII),
 * with a caret line under the byte at `mark`.
 */
function hexDump(b: Uint8Array, mark?: number): string {
  const lines: string[] = [];
  const rows = Math.max(1, Math.ceil(b.length / 16));
  // An offset at or past the end is marked just after the last byte.
  const markRow = mark === undefined ? -1 : Math.min(Math.floor(mark / 16), rows - 1);
  for (let row = 0; row < rows; row++) {
    const start = row * 16;
    const chunk = b.subarray(start, start + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      hex += i < chunk.length ? chunk[i].toString(16).padStart(2, '0') + (i === 7 ? '-' : ' ') : '   ';
      if (i < chunk.length) ascii += chunk[i] >= 0x20 && chunk[i] < 0x7f ? String.fromCharCode(chunk[i]) : '.';
    }
    lines.push(`${start.toString(16).padStart(8, '0')}  ${hex}|${ascii.padEnd(16)}|`);
    if (row === markRow) {
      const col = Math.min(mark! - start, 16);
      lines.push(`${' '.repeat(10 + 3 * col)}^^ offset ${mark}`);
    }
  }
  return lines.join('\n');
}

// A reader that closes the pipe early (| head) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
