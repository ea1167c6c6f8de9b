#!/usr/bin/env node
// tsof-switch: an OpenFlow 1.3 switch over the native datapath. Registers
// tsx so the .ts sources load as written, then hands
// over to src/cli/switch.ts. The path is resolved through the real file, so
// this works when npm links it from node_modules/.bin.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = dirname(dirname(realpathSync(fileURLToPath(import.meta.url))));
const { main } = await import(pathToFileURL(join(root, 'src/cli/switch.ts')).href);
process.exitCode = await main(process.argv.slice(2));
