// What the daemons (tsof-switch, tsof-controller) share: their logger, pino
// records written to stderr as one readable line each (time, level, message,
// then the record's own fields as key=value) or as pino's JSON lines, and the
// wait for the signal that stops them.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino, type Logger } from 'pino';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** A flag or argument the user got wrong: the message names it and why; the daemon prints its usage. */
export class UsageError extends Error {}

/** The flags every daemon takes besides its own. */
const COMMON = {
  'log-level': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * parseArgs with the common flags added: a bad flag is a UsageError, and the
 * log level is checked.
 */
export function parseDaemonArgs<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  const config = { args: argv, allowPositionals: true as const, options: { ...options, ...COMMON } };
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const common = parsed.values as { 'log-level'?: string; json?: boolean; help?: boolean };
  const level = common['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return { values: parsed.values, positionals: parsed.positionals, level, json: common.json === true, help: common.help === true };
}

export function cliLogger(name: string, level: string, json: boolean): Logger {
  if (json) return pino({ level, name });
  const names: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
  const write = (line: string) => {
    const { level: n, time, msg, err, ...fields } = JSON.parse(line);
    const kv = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    const error = err ? `\n${err.stack ?? err.message}` : '';
    process.stderr.write(`${new Date(time).toISOString().slice(11, 23)} ${names[n] ?? n} ${msg}${kv.join('')}${error}\n`);
  };
  return pino({ level, base: undefined }, { write });
}

/** Resolves with the name of the first SIGINT or SIGTERM. */
export function stopSignal(): Promise<string> {
  return new Promise((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
}
