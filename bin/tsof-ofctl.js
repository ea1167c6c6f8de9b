#!/usr/bin/env node
// The tsof-ofctl executable named in package.json "bin". Node 20 cannot run
// TypeScript, so this registers tsx's loader and then imports the .ts entry.
// The entry is found from this file's real path, so a symlink to it
// (npm link, node_modules/.bin) still finds the package's sources.

import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
await import(pathToFileURL(join(here, '..', 'src', 'cli', 'ofctl.ts')).href);
