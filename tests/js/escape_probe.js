// The sandbox escape suite for a JavaScript guest (componentize-js, StarlingMonkey): each
// attempt prints one line; any line with ESCAPED is an escape. Usage: probe GRANTED_DIR ADDR
// (ADDR, `host:port`, a listener that must receive nothing).
import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { getArguments, getEnvironment } from 'wasi:cli/environment@0.2.12';
import * as eb from '../../guest-abi/js/evalbox-guest.js';

function attempt(label, action) {
  try {
    const result = action();
    console.log(`ESCAPED ${label}: ${JSON.stringify(result)}`);
  } catch (e) {
    console.log(`${label}: refused (${e.payload ?? e.name ?? e})`);
  }
}

// `fetch` through `wasi:http`, which the sandbox provides with every request denied.
async function fetchProbe(addr) {
  try {
    const response = await fetch(`http://${addr}/`);
    console.log(`ESCAPED fetch: ${response.status}`);
  } catch (e) {
    console.log(`fetch: refused (${e.name}: ${e.message})`);
  }
}

export const run = {
  async run() {
    const [, granted, addr] = getArguments();
    const dirs = getDirectories();
    const [dir] = dirs.find(([, path]) => path === granted);
    attempt('write', () => dir.openAt({}, 'written', { create: true }, { write: true }));
    attempt('mkdir', () => dir.createDirectoryAt('made'));
    attempt('read outside', () => dir.openAt({ symlinkFollow: true }, '../../../../../etc/hostname', {}, { read: true }));
    // Nix, evaluated for the guest in a nested sandbox, sees what the guest sees.
    attempt('nix read outside', () => eb.nixEval({ expr: 'builtins.readFile /etc/hostname' }));
    console.log(`nix environment: ${JSON.stringify(eb.nixEval({ expr: 'builtins.getEnv "SECRET"' }))}`);
    console.log(`preopens: ${JSON.stringify(dirs.map(([, path]) => path))}`);
    console.log(`environment: ${JSON.stringify(getEnvironment())}`);
    console.log(`wall clock: ${Date.now()}`);
    console.log(`random: ${Math.random()} ${crypto.getRandomValues(new Uint8Array(4)).join(',')}`);
    await fetchProbe(addr);
  },
};
