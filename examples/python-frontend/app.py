"""python-frontend: hello-frontend in Python. It reads ``package.toml`` (or ``package.json``)
from its source directory, adds the build script and the listed sources to the store, and
writes the derivation the equivalent Nix expression gives:

    derivation ({
      name = "${name}-${version}"; inherit system version; builder = "/bin/sh";
      args = [ "-e" ./${script} ];
      ${source} = ./${source};   # for each of `sources`
    } // env // { ${var} = (import ./${file}).${attr}; }   # for each `nix` entry

Usage: ``evalbox run --src DIR python-frontend.wasm -- DIR [--build]``. Prints the ``.drv``
path, then one ``output path`` line per output (built first with ``--build``).
"""

import json
import os
import sys
import tomllib

import evalbox_guest as eb
from wit_world import exports

FIELDS = {"name", "version", "system", "builder", "script", "sources", "env", "nix"}


def read_package(directory: str) -> dict:
    for file, parse in (("package.toml", tomllib.loads), ("package.json", json.loads)):
        path = os.path.join(directory, file)
        try:
            text = eb.read_source(path).decode()
        except FileNotFoundError:
            continue
        package = parse(text)
        unknown = set(package) - FIELDS
        if unknown:
            raise ValueError(f"{path}: unknown field {sorted(unknown)[0]!r}")
        for required in ("name", "version", "script"):
            if required not in package:
                raise ValueError(f"{path}: missing field {required!r}")
        return package
    raise ValueError(f"no package description: cannot read {directory}/package.toml or package.json")


def add_source_path(directory: str, rel: str) -> str:
    if not rel or rel.startswith("/") or any(c in ("..", ".") for c in rel.split("/")):
        raise ValueError(f"`{rel}`: sources must be relative paths inside the package")
    return f"{directory}/{rel}"


def add_source(directory: str, rel: str) -> str:
    return eb.add_path(add_source_path(directory, rel))


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise ValueError("usage: python-frontend PACKAGE_DIR [--build]")
    directory = argv[1].rstrip("/")
    package = read_package(directory)
    script = add_source(directory, package["script"])
    env = {"version": package["version"]}
    sources = [script]
    for rel in package.get("sources", []):
        path = add_source(directory, rel)
        env[os.path.basename(rel)] = path
        sources.append(path)
    env.update(package.get("env", {}))
    # Packages defined in Nix: `VAR = "FILE#ATTR"` puts that derivation's output path in
    # VAR and makes it an input, as `VAR = (import ./FILE).ATTR;` does in Nix.
    for var, ref in package.get("nix", {}).items():
        file, _, attr = ref.partition("#")
        value = eb.nix_eval(add_source_path(directory, file), attr=attr or None)
        if not isinstance(value, eb.Added):
            raise ValueError(f"nix.{var}: {ref} is not a derivation")
        env[var] = value
    added = eb.derivation(
        name=f"{package['name']}-{package['version']}",
        builder=package.get("builder", "/bin/sh"),
        system=package.get("system", "x86_64-linux"),
        args=["-e", script],
        env=env,
        input_srcs=sources,
    )
    print(added.drv_path)
    outputs = eb.build(added) if "--build" in argv[2:] else added.outputs
    for name, path in sorted(outputs.items()):
        print(name, path)


class Run(exports.Run):
    def run(self) -> None:
        try:
            main(sys.argv)
        except (eb.StoreError, eb.NixError, ValueError, OSError, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
            print(f"python-frontend: {e}", file=sys.stderr)
            sys.stdout.flush()
            sys.exit(1)
