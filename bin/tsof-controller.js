#!/usr/bin/env node
// tsof-controller APP...: runs OpenFlow apps, TypeScript or JavaScript, from any project, on one Controller
// (src/controller/cli.ts). entry.js says what runs: the sources through tsx in a checkout, the compiled
// dist/ when installed; and how apps load, so that they share the executable's SDK module instances.
import { entry } from './entry.js';

const { main } = await entry('controller/cli', { apps: true });
process.exitCode = await main(process.argv.slice(2));
