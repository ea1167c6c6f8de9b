#!/usr/bin/env node
// tsof-ofctl: an ovs-ofctl-shaped CLI (src/cli/ofctl.ts runs when imported). entry.js says what runs: the
// sources through tsx in a checkout, the compiled dist/ when installed.
import { entry } from './entry.js';

await entry('cli/ofctl');
