// What the three executables share: which module they run, and how. The rule is "src/ present or not":
// a checkout has src/ and the package does not ship it. In a checkout, the executables register tsx and
// run the TypeScript sources as they are (no build step; an example that imports ../src/ shares their
// module instances). Installed, they run the compiled dist/ with plain node. tsof-controller also loads
// apps, TypeScript or JavaScript, ES modules or CommonJS: it registers both of tsx's hooks wherever it runs.
// The root is found through this file's real path, so a symlink to a bin (node_modules/.bin, npm link)
// finds its package.

import { existsSync, realpathSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(realpathSync(fileURLToPath(import.meta.url))));
const checkout = existsSync(join(root, 'src'));

/** Imports `name` ('controller/cli', 'cli/switch'...): src/NAME.ts in a checkout, dist/NAME.js installed. */
export async function entry(name, { apps = false } = {}) {
  if (apps) await registerForApps();
  else if (checkout) (await import('tsx/esm/api')).register();
  return import(pathToFileURL(join(root, checkout ? `src/${name}.ts` : `dist/${name}.js`)).href);
}

// tsx's CommonJS hook compiles an app in a CommonJS project (package.json "type": "commonjs", as npm init
// writes it) to require() calls. It would also compile the ES modules of dist/ that such an app requires
// into a second, CommonJS copy of the SDK, whose Controller the app's instanceof and events would not share
// with the one the executable made. So dist/ stays with Node's own loader, whose require() of an ES module
// (Node 20.19 and later) returns the instance the executable imported.
async function registerForApps() {
  const nodeJs = Module._extensions['.js'];
  (await import('tsx/esm/api')).register();
  (await import('tsx/cjs/api')).register();
  const tsxJs = Module._extensions['.js'];
  const dist = join(root, 'dist') + sep;
  Module._extensions['.js'] = (module, filename) => (filename.startsWith(dist) ? nodeJs : tsxJs)(module, filename);
}
