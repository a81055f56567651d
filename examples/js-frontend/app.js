// js-frontend: hello-frontend in JavaScript. It reads `package.toml` (or `package.json`) from
// its source directory, adds the build script and the listed sources to the store, and writes
// the derivation the equivalent Nix expression gives:
//
//   derivation ({
//     name = "${name}-${version}"; inherit system version; builder = "/bin/sh";
//     args = [ "-e" ./${script} ];
//     ${source} = ./${source};   # for each of `sources`
//   } // env)
//
// Usage: `evalbox run --src DIR js-frontend.wasm -- DIR [--build]`. Prints the `.drv` path,
// then one `output path` line per output (built first with `--build`).

import * as eb from '../../guest-abi/js/evalbox-guest.js';

const FIELDS = new Set(['name', 'version', 'system', 'builder', 'script', 'sources', 'env']);

// The TOML the package descriptions use: `key = "string"`, `key = ["a", "b"]`, `[table]`,
// comments. Anything else is an error naming the line.
function parseToml(text, file) {
  const root = {};
  let table = root;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (line === '' || line.startsWith('#')) return;
    const header = line.match(/^\[([A-Za-z0-9_-]+)\]$/);
    if (header) {
      table = root[header[1]] = {};
      return;
    }
    const pair = line.match(/^([A-Za-z0-9_-]+)\s*=\s*(.+?)\s*(#.*)?$/);
    if (!pair) throw new Error(`${file}:${i + 1}: cannot read '${line}'`);
    try {
      table[pair[1]] = JSON.parse(pair[2]);
    } catch {
      throw new Error(`${file}:${i + 1}: '${pair[2]}' is not a string or a list of strings`);
    }
  });
  return root;
}

function readPackage(dir) {
  for (const [file, parse] of [['package.toml', parseToml], ['package.json', JSON.parse]]) {
    let text;
    try {
      text = eb.readSource(`${dir}/${file}`);
    } catch {
      continue;
    }
    const pkg = parse(text, `${dir}/${file}`);
    for (const key of Object.keys(pkg)) {
      if (!FIELDS.has(key)) throw new Error(`${dir}/${file}: unknown field '${key}'`);
    }
    for (const key of ['name', 'version', 'script']) {
      if (!(key in pkg)) throw new Error(`${dir}/${file}: missing field '${key}'`);
    }
    return pkg;
  }
  throw new Error(`no package description: cannot read ${dir}/package.toml or package.json`);
}

function addSource(dir, rel) {
  if (!rel || rel.startsWith('/') || rel.split('/').some((c) => c === '..' || c === '.')) {
    throw new Error(`\`${rel}\`: sources must be relative paths inside the package`);
  }
  return eb.addPath(`${dir}/${rel}`);
}

function main(argv) {
  if (argv.length < 2) throw new Error('usage: js-frontend PACKAGE_DIR [--build]');
  const dir = argv[1].replace(/\/+$/, '');
  const pkg = readPackage(dir);
  const script = addSource(dir, pkg.script);
  const env = { version: pkg.version };
  const sources = [script];
  for (const rel of pkg.sources ?? []) {
    const path = addSource(dir, rel);
    env[eb.baseName(rel)] = path;
    sources.push(path);
  }
  Object.assign(env, pkg.env ?? {});
  const added = eb.derivation({
    name: `${pkg.name}-${pkg.version}`,
    builder: pkg.builder ?? '/bin/sh',
    system: pkg.system ?? 'x86_64-linux',
    args: ['-e', script],
    env,
    inputSrcs: sources,
  });
  console.log(added.drvPath);
  const outputs = argv.slice(2).includes('--build') ? eb.build(added) : added.outputs;
  for (const name of Object.keys(outputs).sort()) console.log(`${name} ${outputs[name]}`);
}

export const run = {
  run() {
    try {
      main(eb.args());
    } catch (e) {
      console.error(`js-frontend: ${e.message}`);
      throw e;
    }
  },
};
