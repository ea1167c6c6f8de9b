// What the daemons (tsof-switch, tsof-controller) share: their logger, pino
// records written to stderr as one readable line each (time, level, message,
// then the record's own fields as key=value) or as pino's JSON lines; the
// Prometheus endpoint (--metrics HOST:PORT, GET /metrics); and the wait for
// the signal that stops them.

import { createServer, type Server } from 'node:http';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** A flag or argument the user got wrong: the message names it and why; the daemon prints its usage. */
export class UsageError extends Error {}

/** The flags every daemon takes besides its own. */
const COMMON = {
  'log-level': { type: 'string' },
  json: { type: 'boolean' },
  metrics: { type: 'string' },
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
  const common = parsed.values as { 'log-level'?: string; json?: boolean; metrics?: string; help?: boolean };
  const level = common['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const metrics = common.metrics === undefined ? undefined : hostPort('metrics', common.metrics);
  return { values: parsed.values, positionals: parsed.positionals, level, json: common.json === true, metrics, help: common.help === true };
}

/** HOST:PORT, [IPv6]:PORT or PORT (127.0.0.1): where --metrics listens. */
function hostPort(flag: string, text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = m ? +m[2] : NaN;
  if (!m || port > 65535) throw new UsageError(`--${flag} takes HOST:PORT or PORT (127.0.0.1:9464, [::1]:9464, 9464), got "${text}"`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

/**
 * Serves the registry's metrics at GET /metrics (Prometheus's text format);
 * resolves once listening. Port 0 picks a free one (server.address()).
 */
export function serveMetrics(registry: Registry, at: { host: string; port: number }, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => {
        log.error({ err }, 'metrics: collecting failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      log.info({ metrics: `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${(server.address() as { port: number }).port}/metrics` }, 'serving metrics');
      resolve(server);
    });
  });
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
