// evalbox's guest SDK for JavaScript: derivations and store paths from a frontend written in
// JavaScript, for componentize-js (world `evaluator` in guest-abi/wit; see guest-abi/README.md).
// The store is reached only through the `evalbox:guest/store` import and files are read through
// the read-only source directories the host granted (`wasi:filesystem`). The calls are made the
// way Nix's `builtins.derivation`, `"${./path}"` and `builtins.toFile` make them, so the same
// derivation written here and in Nix gives the same `.drv`.

import * as nix from 'evalbox:guest/nix@0.1.0';
import * as store from 'evalbox:guest/store@0.1.0';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { getArguments } from 'wasi:cli/environment@0.2.12';

/** A store operation failed; `kind` is the WIT error case (`not-found`, `refused`, ...). */
export class StoreError extends Error {
  constructor(operation, error) {
    const payload = error && error.payload ? error.payload : { tag: 'backend', val: String(error) };
    super(`${operation}: ${payload.val}`);
    this.kind = payload.tag;
  }
}

/** A Nix evaluation failed; `kind` is the WIT error case (`eval`, `limit-exceeded`, ...). */
export class NixError extends Error {
  constructor(error) {
    const payload = error && error.payload ? error.payload : { tag: 'unsupported', val: String(error) };
    super(payload.val);
    this.name = 'NixError';
    this.kind = payload.tag;
  }
}

function call(operation, f) {
  try {
    return f();
  } catch (e) {
    throw new StoreError(operation, e);
  }
}

/** The guest's command line (`evalbox run GUEST -- ARGS`), the program name first. */
export function args() {
  return getArguments();
}

/** The store directory, e.g. `/nix/store`. */
export function storeDir() {
  return store.storeDir();
}

/** A path's last component. */
export function baseName(path) {
  const parts = path.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1];
}

/** Adds a file or directory of the sources to the store, as Nix's `"${./path}"` does
 * (recursively, SHA-256; the name is the base name); returns its store path. */
export function addPath(path, name = baseName(path)) {
  return call('add-path-to-store', () =>
    store.addPathToStore(name, path.replace(/\/+$/, '') || '/', 'recursive', 'sha256')).path;
}

/** Writes `text` to the store as Nix's `builtins.toFile` does; returns its path. */
export function toFile(name, text, references = []) {
  return call('add-text-to-store', () => store.addTextToStore(name, text, references));
}

/** The contents of a file in the granted source directories, as a string (UTF-8). */
export function readSource(path) {
  for (const [dir, root] of getDirectories()) {
    const prefix = root.endsWith('/') ? root : `${root}/`;
    if (!path.startsWith(prefix)) continue;
    let file;
    try {
      file = dir.openAt({ symlinkFollow: true }, path.slice(prefix.length), {}, { read: true });
    } catch (e) {
      throw new Error(`cannot read ${path}: ${e.payload ?? e}`);
    }
    const size = Number(file.stat().size);
    const chunks = [];
    let offset = 0n;
    while (offset < BigInt(size)) {
      const [bytes, end] = file.read(BigInt(size) - offset, offset);
      chunks.push(bytes);
      offset += BigInt(bytes.length);
      if (end || bytes.length === 0) break;
    }
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return new TextDecoder().decode(all);
  }
  throw new Error(`cannot read ${path}: it is not in a granted source directory`);
}

/** Writes a derivation as `builtins.derivation` would: its environment holds `name`,
 * `builder` and `system`, `outputs` when given (space-separated), and `env`; `args` are the
 * builder's arguments. A store path used in `args` or `env` must be listed in `inputSrcs`
 * (sources) or `inputDrvs` (`.drv` path -> outputs used), as Nix's string context would.
 * Returns `{ drvPath, outputs }` (`outputs`: name -> path). */
export function derivation({
  name, builder, system = 'x86_64-linux', args = [], env = {}, outputs, inputDrvs = {}, inputSrcs = [],
}) {
  const variables = { builder, name, system };
  if (outputs !== undefined) variables.outputs = outputs.join(' ');
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== 'string') {
      throw new TypeError(`environment variable '${key}' must be a string, not ${typeof value}`);
    }
    variables[key] = value;
  }
  const added = call('add-derivation', () => store.addDerivation({
    name,
    outputs: (outputs ?? ['out']).map((o) => ({ name: o, fixed: undefined })),
    inputDrvs: Object.entries(inputDrvs).map(([drvPath, outs]) => ({ drvPath, outputs: outs })),
    inputSrcs,
    system,
    builder,
    args,
    env: Object.entries(variables).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  }));
  return { drvPath: added.drvPath, outputs: Object.fromEntries(added.outputs) };
}

function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    if (value.type === 'derivation' && typeof value.drvPath === 'string') {
      return { drvPath: value.drvPath, outputs: value.outputs, name: value.name, system: value.system };
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

/** Evaluates Nix: `{ file }` (a path in the sources) or `{ expr }`, at the attribute path
 * `attr` (`-A`), a function there called with `args` (Nix expressions, `--arg`) and `argstrs`
 * (strings, `--argstr`), as `nix-instantiate --eval --strict` would, in a nested sandbox with
 * this guest's sources and store. Returns the value, each derivation in it as
 * `{ drvPath, outputs, name, system }` (its `.drv` in the store: use it in `inputDrvs`); with
 * `context: true`, `{ value, context }`, the context being what the value's strings refer to
 * (`{ tag: 'opaque' | 'output' | 'all-outputs', val }`). Throws a `NixError`. */
export function nixEval({ file, expr, attr, args = {}, argstrs = {}, context = false }) {
  if ((file === undefined) === (expr === undefined)) {
    throw new TypeError('nixEval: give a file or an expression, not both');
  }
  const what = {
    source: file !== undefined ? { tag: 'file', val: file } : { tag: 'expr', val: expr },
    attrPath: attr,
    args: [
      ...Object.entries(args).map(([k, v]) => [k, { tag: 'expr', val: v }]),
      ...Object.entries(argstrs).map(([k, v]) => [k, { tag: 'str', val: v }]),
    ],
  };
  let result;
  try {
    result = nix.evaluate(what);
  } catch (e) {
    throw new NixError(e);
  }
  const value = fromJson(JSON.parse(result.json));
  return context ? { value, context: result.context } : value;
}

/** Builds a derivation's outputs (all when none are named); returns name -> path. Throws a
 * `StoreError` with the builder's message when the build fails. */
export function build(added, outputs = []) {
  const report = call('build-paths', () => store.buildPaths([{ drvPath: added.drvPath, outputs }]));
  const built = {};
  for (const result of report.results) {
    if (!result.success) {
      throw new StoreError('build-paths', {
        payload: { tag: 'backend', val: result.errorMessage ?? `building ${added.drvPath} failed` },
      });
    }
    for (const [name, path] of result.outputs) built[name] = path;
  }
  return built;
}
