// What the daemons (tsof-switch, tsof-controller) share: their logger, pino
// records written to stderr as one readable line each (time, level, message,
// then the record's own fields as key=value) or as pino's JSON lines, and the
// wait for the signal that stops them.

import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

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
