#!/usr/bin/env node
// tsof-controller APP.ts...: runs OpenFlow apps written in TypeScript. Registers
// tsx so the .ts sources (the SDK's and the apps') load as written, then hands
// over to src/controller/cli.ts. The path is resolved through the real file, so
// this works when npm links it from node_modules/.bin.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = dirname(dirname(realpathSync(fileURLToPath(import.meta.url))));
const { main } = await import(pathToFileURL(join(root, 'src/controller/cli.ts')).href);
process.exitCode = await main(process.argv.slice(2));
