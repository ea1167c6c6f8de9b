// tsof-controller: loads app modules (TypeScript as written, through tsx) into
// one Controller and listens until SIGINT or SIGTERM. bin/tsof-controller.js
// registers tsx and calls main(); exit codes: 0 done, 1 runtime failure (an app
// that does not load, a port in use), 2 bad usage.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { cliLogger, parseDaemonArgs, serveMetrics, stopSignal, UsageError } from '../cli/daemon.ts';
import { Controller } from './controller.ts';
import { controllerMetrics } from './metrics.ts';

const USAGE = `usage: tsof-controller [--port N] [--host ADDR] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]
                      [--log-level LEVEL] [--json] [--metrics HOST:PORT]
                      [--cluster etcd://HOST:PORT[,...] --node-id ID [--lease-ttl S]] APP.ts...

Runs OpenFlow 1.3 apps: each APP.ts default-exports a function that receives the controller
(and, second, { metrics, cluster }: the prom-client Registry --metrics serves, for the app's own
metrics, and with --cluster the Cluster: mastership events and the shared store).
  -p, --port N          TCP port to listen on (default 6653)
      --host ADDR       address to listen on (default: all)
      --tls-cert FILE   listen with TLS: the controller's certificate (PEM)...
      --tls-key FILE    ...and its private key (PEM)
      --tls-ca FILE     accept only switches with a certificate signed by this CA (PEM)
      --log-level LEVEL trace, debug, info, warn, error or fatal (default info)
      --json            log JSON lines (pino) instead of text
      --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics (switches, packet-ins,
                        and what apps register; PORT alone: 127.0.0.1)
      --cluster URLS    join a cluster of instances over these etcd endpoints (comma-separated):
                        one master per switch, elected in etcd (docs/cluster.md)
      --node-id ID      this instance's name in the cluster (needed with --cluster)
      --lease-ttl S     seconds a dead instance keeps its switches (default 2)
  -h, --help            show this help`;

function options(argv: string[]) {
  const { values, positionals, level, json, metrics, help } = parseDaemonArgs(argv, {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    cluster: { type: 'string' },
    'node-id': { type: 'string' },
    'lease-ttl': { type: 'string' },
  });
  const port = values.port ?? '6653';
  if (!/^\d+$/.test(port) || +port > 65535) throw new UsageError(`--port must be a TCP port number (0-65535), got "${port}"`);
  if (!help && positionals.length === 0) throw new UsageError('give at least one app module');
  const [cert, key, ca] = [values['tls-cert'], values['tls-key'], values['tls-ca']];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (ca !== undefined && cert === undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
  const tls = cert === undefined ? undefined : { cert, key: key!, ca };
  return { port: +port, host: values.host, tls, level, json, metrics, help, apps: positionals, cluster: clusterOptions(values) };
}

function clusterOptions(values: { cluster?: string; 'node-id'?: string; 'lease-ttl'?: string }) {
  const { cluster, 'node-id': nodeId, 'lease-ttl': ttl } = values;
  if (cluster === undefined) {
    if (nodeId !== undefined || ttl !== undefined) throw new UsageError('--node-id and --lease-ttl need --cluster');
    return undefined;
  }
  const endpoints = cluster.split(',').map((e) => e.trim());
  const bad = endpoints.find((e) => !/^(etcd|https?):\/\/[^/\s]+:\d+\/?$/.test(e));
  if (bad !== undefined) throw new UsageError(`--cluster takes etcd://HOST:PORT endpoints separated by commas, got "${bad}"`);
  if (!nodeId) throw new UsageError('--cluster needs --node-id');
  if (ttl !== undefined && !/^[1-9]\d*$/.test(ttl)) throw new UsageError(`--lease-ttl must be a whole number of seconds, got "${ttl}"`);
  return { endpoints, nodeId, leaseTtl: ttl === undefined ? undefined : +ttl };
}

export async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = options(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`tsof-controller: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = cliLogger('tsof-controller', opts.level, opts.json);
  let tls;
  try {
    tls = opts.tls && {
      cert: readFileSync(opts.tls.cert),
      key: readFileSync(opts.tls.key),
      ...(opts.tls.ca && { ca: readFileSync(opts.tls.ca), requestCert: true }),
    };
  } catch (err) {
    log.fatal({ err }, 'cannot read the TLS files');
    return 1;
  }
  const controller = new Controller({ port: opts.port, host: opts.host, logger: log, tls });
  const metrics = controllerMetrics(controller);
  // Made before the apps load, so its 'switch' listener runs first: the role request precedes the apps' messages.
  // Loaded only with --cluster: the etcd client (gRPC) is the heaviest module tsof has.
  const cluster = opts.cluster && new (await import('./cluster/index.ts')).Cluster(controller, { ...opts.cluster, logger: log });
  // An app's async listener that rejects is a bug to report, not a reason to drop every switch.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection in an app'));

  for (const file of opts.apps) {
    let app: unknown;
    try {
      app = (await import(pathToFileURL(resolve(file)).href)).default;
    } catch (err) {
      log.fatal({ err, app: file }, 'cannot load app');
      return 1;
    }
    if (typeof app !== 'function') {
      log.fatal({ app: file }, 'an app module must default-export a function (controller, { metrics, cluster }) => void');
      return 1;
    }
    await app(controller, { metrics, cluster });
    log.info({ app: file }, 'app loaded');
  }

  let metricsServer: Server | undefined;
  try {
    await cluster?.start();
    await controller.listen();
    if (opts.metrics) metricsServer = await serveMetrics(metrics, opts.metrics, log);
  } catch (err) {
    log.fatal({ err }, 'cannot listen');
    await controller.close();
    return 1;
  }
  const signal = await stopSignal();
  log.info({ signal }, 'shutting down');
  metricsServer?.close();
  await cluster?.close();
  await controller.close();
  return 0;
}
