#!/usr/bin/env node
// Builds the native addon (binding.gyp: the datapath in native/ and its N-API glue) for npm's lifecycle:
//   node bin/build-native.js            "install". In a checkout (src/ present; see entry.js) a source
//       build with node-gyp, which fails the install when it fails: the checkout's tests need it. Installed,
//       node-gyp-build keeps what loads (build/Release, or the prebuilt prebuilds/<platform>-<arch>/ binary
//       the package ships) and compiles otherwise. The datapath is Linux-only and only tsof-switch and
//       'tsof/datapath' need it, so an installed package never fails here: on another OS nothing is built,
//       and a failed compile (no compiler) is a warning. `npm install --ignore-scripts` skips all of this.
//   node bin/build-native.js --prebuild "prepack": prebuildify builds the binary the package ships.
// node-gyp compiles against the running Node's own headers where it has them (<prefix>/include/node), so it
// downloads nothing.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const checkout = existsSync(join(root, 'src'));
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/common.gypi'))) {
  process.env.npm_config_nodedir = prefix;
}

const run = (cmd, ...args) =>
  spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' }).status ?? 1;
const HOW = 'tsof-switch and tsof/datapath need it (on Linux, with a C compiler, make and python3: npm rebuild tsof); '
  + 'the controller SDK and the codec work without it.';

if (process.argv[2] === '--prebuild') {
  process.exitCode = run('prebuildify', '--napi', '--strip');
} else if (checkout) {
  process.exitCode = run('node-gyp', 'rebuild');
} else if (process.platform !== 'linux') {
  console.warn(`tsof: the native datapath runs on Linux only; not built on ${process.platform}. ${HOW}`);
} else if (run('node-gyp-build') !== 0) {
  console.warn(`tsof: the native datapath did not build (see above). ${HOW}`);
}
