// The npm package as a user gets it (issue 16). `npm pack` runs in a copy of the checkout (the tracked and
// untracked-but-not-ignored files; its prepare and prepack build dist/ and the prebuilt addon there, so the
// build/ that other tests load is never rebuilt under them), and the tarball is installed into fresh projects
// made by `npm init -y` (so "type": "commonjs"), with dependencies from npm's cache or the registry.
// With its install script: an app written there type-checks against 'tsof' with tsc --strict, plain node
// imports every entry, and `npx tsof-controller app.ts app.js` drives a real switch that shows the flows the
// apps installed: an Open vSwitch netdev bridge where OVS is installed, the repository's cbench-style
// emulator otherwise; and tsof-switch, on the prebuilt addon, connects to it. With --ignore-scripts and the
// prebuilt addon removed (as on a machine it does not fit): the SDK imports and a controller started from the
// user's own script completes a handshake, while the datapath and tsof-switch say how to build the addon.
// Nothing here is mocked. Names are unique per run, the controller listens on an ephemeral port, and clean-up
// removes only what this file created.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench } from '../../bench/controller/cbench.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

// The npm that runs this test (npm test) leaves its own package's settings in the environment; the npm
// commands here must see only their own project.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(npm_package_|npm_lifecycle_|npm_command$|npm_config_(local_prefix|prefix|global_prefix)$|INIT_CWD$)/.test(k),
  ),
);
const sh = async (cwd: string, cmd: string, ...args: string[]) =>
  (await run(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
const npm = (cwd: string, ...args: string[]) => sh(cwd, 'npm', '--no-audit', '--no-fund', '--prefer-offline', ...args);
const seconds = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** A long-running command in its own process group (npx starts node under it); its stdout lines are kept. */
class Daemon {
  readonly child: ChildProcess;
  out = '';
  constructor(cwd: string, cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => (this.out += b));
    this.child.stderr!.on('data', (b: Buffer) => (this.out += b));
  }
  async waitFor(re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
    for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 50))) {
      const m = this.out.match(re);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() > end) throw new Error(`no ${re} in the output:\n${this.out}`);
    }
  }
  stop(): void {
    if (this.child.exitCode === null && this.child.pid) process.kill(-this.child.pid, 'SIGTERM');
  }
}

/** The port a controller logged (pino JSON) that it listens on. */
const listeningPort = async (d: Daemon) => +(await d.waitFor(/"port":(\d+)[^\n]*"msg":"listening for switches"/))[1];

const hasOvs = await run('ovs-vsctl', ['--version']).then(
  () => true,
  () => false,
);

describe('the npm package, packed and installed into a new project', () => {
  const id = randomBytes(2).toString('hex');
  const work = mkdtempSync(join(tmpdir(), 'tsof-package-'));
  const daemons: Daemon[] = [];
  const br = `tsofp${id}br`;
  let tarball: string;
  let files: string[];

  /** A project made as a user would, with the tarball installed by `npm install ...args`. */
  async function project(name: string, ...args: string[]): Promise<string> {
    const dir = join(work, name);
    mkdirSync(dir);
    await npm(dir, 'init', '-y');
    await npm(dir, 'install', tarball, ...args);
    return dir;
  }

  beforeAll(async () => {
    const t0 = Date.now();
    const copy = join(work, 'checkout');
    const listed = (await sh(REPO, 'git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard')).split('\0');
    for (const f of listed.filter(Boolean)) {
      const from = join(REPO, f);
      if (!statSync(from, { throwIfNoEntry: false })?.isFile()) continue; // deleted in the work tree
      mkdirSync(dirname(join(copy, f)), { recursive: true });
      cpSync(from, join(copy, f));
    }
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
    await npm(copy, 'pack', '--pack-destination', work);
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
    files = (await sh(work, 'tar', '-tzf', tarball)).split('\n').filter(Boolean);
    console.log(`npm pack: ${(statSync(tarball).size / 1024).toFixed(0)} KB, ${files.length} files, in ${seconds(t0)}`);
  }, 300_000);

  afterAll(async () => {
    for (const d of daemons) d.stop();
    if (hasOvs) await run('ovs-vsctl', ['--timeout=5', '--if-exists', 'del-br', br]).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  });

  it('carries what users run and nothing else', () => {
    const paths = files.map((f) => f.replace(/^package\//, ''));
    const allowed = /^(package\.json|README\.md|LICENSE|binding\.gyp|bin\/[\w-]+\.js|native\/\w+\.[ch]|dist\/.+\.(js|d\.ts|js\.map)|prebuilds\/[\w-]+\/[\w.-]+\.node)$/;
    expect(paths.filter((p) => !allowed.test(p))).toEqual([]);
    for (const p of ['dist/controller/index.js', 'dist/controller/index.d.ts', 'dist/controller/cli.js', 'native/addon.c', 'LICENSE']) {
      expect(paths).toContain(p);
    }
    if (process.platform === 'linux' && process.arch === 'x64') expect(paths.some((p) => p.startsWith('prebuilds/linux-x64/'))).toBe(true);
    expect(paths.some((p) => /^(src|test|bench|examples|scripts|docs)\/|fixtures|testing\./.test(p))).toBe(false);
  });

  describe('installed with its install script', () => {
    let dir: string;
    beforeAll(async () => {
      const t0 = Date.now();
      dir = await project('app', '@types/node@20');
      console.log(`npm install of the tarball: ${seconds(t0)}`);
      const app = readFileSync(join(REPO, 'examples/learning-switch.ts'), 'utf8').replace("'../src/controller/index.ts'", "'tsof'");
      writeFileSync(join(dir, 'app.ts'), app);
      // A JavaScript app beside it: it shares the executable's SDK instance, and installs a flow of its own.
      writeFileSync(
        join(dir, 'same.js'),
        `import { Controller, flowMod } from 'tsof';
export default function (controller) {
  console.log('same SDK instance: ' + (controller instanceof Controller));
  controller.on('switch', (sw) => {
    console.log('switch up: ' + sw.dpid.toString(16));
    sw.send(flowMod({ priority: 7, match: [{ field: 'eth_type', value: 0x88cc }], actions: [] }));
  });
}
`,
      );
      writeFileSync(
        join(dir, 'types.ts'),
        `import { Controller, flowMod, type App } from 'tsof';
import { decodeMessage, encodeMessage, OFPT } from 'tsof/openflow';
import { RequestError } from 'tsof/channel';
import { EthernetView } from 'tsof/packet';
import type { Datapath } from 'tsof/datapath';
import type { SwitchOptions } from 'tsof/switch';
import app from './app.ts';

const apps: App[] = [app];
const bytes: Uint8Array = encodeMessage({ type: 'hello', xid: 1, elements: [] });
const r = decodeMessage(bytes);
export const checks = [apps, r.ok && r.msg.type === 'hello', OFPT.HELLO, RequestError, EthernetView, Controller];
export type Used = [Datapath, SwitchOptions];
// @ts-expect-error: a priority is a number (so the types are real, not any)
flowMod({ priority: 'high' });
`,
      );
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { module: 'nodenext', target: 'es2022', noEmit: true, allowImportingTsExtensions: true, types: ['node'] },
          include: ['*.ts'],
        }),
      );
    }, 180_000);

    it('type-checks an app against tsof with tsc --strict', async () => {
      await sh(dir, process.execPath, join(REPO, 'node_modules/typescript/bin/tsc'), '--strict', '-p', '.');
    });

    it('imports every entry point from plain node, without tsx', async () => {
      const out = await sh(
        dir,
        process.execPath,
        '--input-type=module',
        '-e',
        `import * as sdk from 'tsof';
import * as codec from 'tsof/openflow';
for (const e of ['tsof/channel', 'tsof/packet', 'tsof/switch', 'tsof/datapath', 'tsof/cluster']) await import(e);
console.log(typeof sdk.Controller, typeof sdk.flowMod, codec.encodeMessage === sdk.encodeMessage);`,
      );
      expect(out.trim()).toBe('function function true');
    });

    it('installed the prebuilt addon without compiling', async () => {
      const nodeGypBuild = join(dir, 'node_modules/node-gyp-build');
      const found = await sh(dir, process.execPath, '-e', `console.log(require(${JSON.stringify(nodeGypBuild)}).path('node_modules/tsof'))`);
      if (process.platform === 'linux' && process.arch === 'x64') expect(found).toMatch(/prebuilds\/linux-x64\//);
      expect(statSync(join(dir, 'node_modules/tsof/build'), { throwIfNoEntry: false })).toBeUndefined();
    });

    it('runs npx tsof-controller app.ts app.js against a switch, and tsof-switch connects to it', async () => {
      const controller = new Daemon(dir, 'npx', ['tsof-controller', '--host', '127.0.0.1', '--port', '0', '--json', 'app.ts', 'same.js']);
      daemons.push(controller);
      const port = await listeningPort(controller);
      expect(controller.out).toContain('same SDK instance: true');

      if (hasOvs) {
        await run('ovs-vsctl', ['--timeout=2', 'show']).catch(() => run('/usr/share/openvswitch/scripts/ovs-ctl', ['start', '--system-id=random']));
        await run('ovs-vsctl', [
          ...['--timeout=10', 'add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', 'protocols=OpenFlow13'],
          ...['fail_mode=secure', `other-config:datapath-id=00000000cafe${id}`, '--', 'set-controller', br, `tcp:127.0.0.1:${port}`],
        ]);
        await controller.waitFor(new RegExp(`switch up: cafe${id}`));
        let flows = '';
        for (const end = Date.now() + 10_000; !/dl_type=0x88cc actions=drop/.test(flows) || !/priority=0 actions=CONTROLLER/.test(flows); ) {
          if (Date.now() > end) throw new Error(`the apps' flows are not on ${br}:\n${flows}`);
          await new Promise((r) => setTimeout(r, 100));
          flows = (await run('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', br])).stdout;
        }
        console.log(`flows on the OVS bridge:\n${flows.trim()}`);
      } else {
        const r = await runBench({ host: '127.0.0.1', port, mode: 'throughput', switches: 1, macs: 16, seconds: 1, warmup: 0, window: 8 });
        expect(r.flowModsPerSec).toBeGreaterThan(0);
        expect(r.wrong).toBe(0);
      }

      const sw = new Daemon(dir, 'npx', [
        ...['tsof-switch', '--dpid', `0x7500${id}`, '--controller', `tcp:127.0.0.1:${port}`],
        ...['--ctl', join(work, `tsof-switch-${id}.ctl`)],
      ]);
      daemons.push(sw);
      await controller.waitFor(new RegExp(`switch up: 7500${id}`));
    });
  });

  describe('installed with --ignore-scripts, without the prebuilt addon', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await project('bare', '--ignore-scripts');
      // As on a machine the prebuilt binary does not fit and nothing compiled one.
      rmSync(join(dir, 'node_modules/tsof/prebuilds'), { recursive: true, force: true });
      writeFileSync(
        join(dir, 'own.mjs'),
        `import { Controller, flowMod, OFPCML, OFPP } from 'tsof';
const controller = new Controller({ host: '127.0.0.1', port: 0 });
controller.on('switch', (sw) => {
  console.log('switch up: ' + sw.dpid);
  sw.send(flowMod({ priority: 0, match: [], actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML.NO_BUFFER }] }));
});
const { port } = await controller.listen();
console.log('listening on ' + port);
`,
      );
    }, 180_000);

    it("completes a handshake from the user's own script", async () => {
      const own = new Daemon(dir, process.execPath, ['own.mjs']);
      daemons.push(own);
      const port = +(await own.waitFor(/listening on (\d+)/))[1];
      await runBench({ host: '127.0.0.1', port, mode: 'throughput', switches: 1, macs: 16, seconds: 1, warmup: 0, window: 1 });
      await own.waitFor(/switch up: 1\b/);
    });

    it('says how to build the native datapath where it is needed', async () => {
      const dp = await run(
        process.execPath,
        ['--input-type=module', '-e', "const { NativeDatapath } = await import('tsof/datapath'); new NativeDatapath();"],
        { cwd: dir, env },
      ).then(
        () => '',
        (e: { stderr: string }) => e.stderr,
      );
      expect(dp).toMatch(/native datapath cannot load .*npm rebuild tsof/);
      const sw = await run('npx', ['tsof-switch', '--dpid', '0x1', '--ctl', join(work, `missing-${id}.ctl`)], { cwd: dir, env }).then(
        () => ({ code: 0, out: '' }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
      expect(sw.code).toBe(1);
      expect(sw.out).toMatch(/native datapath cannot load .*npm rebuild tsof/);
    });
  });
});
