#!/usr/bin/env node
// tsof-switch: an OpenFlow 1.3 switch over the native datapath (src/cli/switch.ts). entry.js says what
// runs: the sources through tsx in a checkout, the compiled dist/ when installed.
import { entry } from './entry.js';

const { main } = await entry('cli/switch');
process.exitCode = await main(process.argv.slice(2));
