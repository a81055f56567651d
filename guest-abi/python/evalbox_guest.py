"""evalbox's guest SDK for Python: derivations and store paths from a frontend written in Python.

A Python guest is a component built by componentize-py from the WIT world ``evaluator``
(``guest-abi/wit``) and this module (see ``guest-abi/README.md``). The store is reached only
through the ``evalbox:guest/store`` import; files are read with ``open`` from the read-only
source directories the host granted. This layer makes the store calls the way Nix's
``builtins.derivation``, ``"${./path}"`` and ``builtins.toFile`` make them, so the same
derivation written here and in Nix gives the same ``.drv``.
"""

from dataclasses import dataclass, field
import json
import os
import re

from wit_world.imports import nix as _nix
from wit_world.imports import store as _store
from componentize_py_types import Err

__all__ = [
    "StoreError", "NixError", "Added", "Inputs", "derivation", "add_path", "to_file", "read_source",
    "build", "store_dir", "nix_eval",
]


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class StoreError(Exception):
    """A store operation failed; ``kind`` is the WIT error case (``not-found``, ``refused``, ...)."""

    def __init__(self, operation: str, error):
        self.kind = _kebab(type(error).__name__.removeprefix("Error_"))
        message = getattr(error, "value", error)
        super().__init__(f"{operation}: {message}")


def _call(operation: str, f, *args):
    try:
        return f(*args)
    except Err as e:
        raise StoreError(operation, e.value) from None


class NixError(Exception):
    """A Nix evaluation failed; ``kind`` is the WIT error case (``eval``, ``limit-exceeded``, ...)
    and the message is Nix's."""

    def __init__(self, error):
        self.kind = _kebab(type(error).__name__.removeprefix("Error_"))
        super().__init__(getattr(error, "value", error))


@dataclass
class Added:
    """A derivation written to the store: its ``.drv`` path and ``output -> path`` (and, for
    one that Nix evaluated, its ``name`` and ``system``). Used as a value of ``derivation``'s
    ``env`` or ``args``, it is the path of its ``out`` output and an input of the new
    derivation, as ``"${drv}"`` is in Nix."""

    drv_path: str
    outputs: dict = field(default_factory=dict)
    name: str | None = None
    system: str | None = None

    @property
    def out(self) -> str:
        """The path of the ``out`` output (what ``"${drv}"`` is in Nix)."""
        return self.outputs["out"]


@dataclass
class Inputs:
    """What strings refer to in the store (Nix's string context): ``input_drvs`` (``.drv`` path
    -> outputs used) and ``input_srcs``, as ``derivation`` takes them, and ``all_outputs``:
    the ``.drv`` files whose whole closure a ``drvPath`` string names."""

    input_drvs: dict = field(default_factory=dict)
    input_srcs: list = field(default_factory=list)
    all_outputs: list = field(default_factory=list)


def _from_json(value):
    if isinstance(value, dict):
        if value.get("type") == "derivation" and "drvPath" in value:
            return Added(
                drv_path=value["drvPath"], outputs=dict(value.get("outputs", {})),
                name=value.get("name"), system=value.get("system"),
            )
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def nix_eval(
    file: str | None = None,
    *,
    expr: str | None = None,
    attr: str | None = None,
    args: dict[str, str] | None = None,
    argstrs: dict[str, str] | None = None,
    context: bool = False,
):
    """Evaluates Nix: the ``file`` (a path in the sources) or the expression ``expr``, at the
    attribute path ``attr`` (``-A``), a function there called with ``args`` (Nix expressions,
    ``--arg``) and ``argstrs`` (strings, ``--argstr``), as ``nix-instantiate --eval --strict``
    would. Returns the value as Python data, each derivation in it an ``Added`` (its ``.drv``
    written to the store), to use in this frontend's own derivations. With ``context=True``,
    returns ``(value, Inputs)``: what the value's strings refer to in the store. The host
    evaluates it in a nested sandbox with this guest's sources and store; the same request
    twice is evaluated once. Raises ``NixError``."""
    if (file is None) == (expr is None):
        raise ValueError("nix_eval: give a file or an expression, not both")
    source = _nix.Source_File(file) if file is not None else _nix.Source_Expr(expr)
    arguments = [(k, _nix.Argument_Expr(v)) for k, v in (args or {}).items()]
    arguments += [(k, _nix.Argument_Str(v)) for k, v in (argstrs or {}).items()]
    try:
        result = _nix.evaluate(_nix.Evaluation(source=source, attr_path=attr, args=arguments))
    except Err as e:
        raise NixError(e.value) from None
    value = _from_json(json.loads(result.json))
    if not context:
        return value
    inputs = Inputs()
    for item in result.context:
        if isinstance(item, _nix.ContextItem_Output):
            inputs.input_drvs.setdefault(item.value.drv_path, []).append(item.value.output)
        elif isinstance(item, _nix.ContextItem_AllOutputs):
            inputs.all_outputs.append(item.value)
        else:
            inputs.input_srcs.append(item.value)
    return value, inputs


def store_dir() -> str:
    """The store directory, e.g. ``/nix/store``."""
    return _store.store_dir()


def add_path(path: str, name: str | None = None) -> str:
    """Adds a file or directory of the sources to the store, as Nix's ``"${./path}"``
    does (recursively, SHA-256; the name is the base name); returns its store path."""
    path = path.rstrip("/") or "/"
    return _call(
        "add-path-to-store",
        _store.add_path_to_store,
        name or os.path.basename(path),
        path,
        _store.IngestionMethod.RECURSIVE,
        _store.HashAlgo.SHA256,
    ).path


def to_file(name: str, text: str, references: list[str] = ()) -> str:
    """Writes ``text`` to the store as Nix's ``builtins.toFile`` does; returns its path."""
    return _call("add-text-to-store", _store.add_text_to_store, name, text, list(references))


def read_source(path: str) -> bytes:
    """The contents of a file in the granted source directories."""
    with open(path, "rb") as f:
        return f.read()


def derivation(
    name: str,
    builder: str,
    system: str = "x86_64-linux",
    args: list[str] = (),
    env: dict[str, str] | None = None,
    outputs: list[str] | None = None,
    input_drvs: dict[str, list[str]] | None = None,
    input_srcs: list[str] = (),
) -> Added:
    """Writes a derivation as ``builtins.derivation`` would: its environment holds ``name``,
    ``builder`` and ``system``, ``outputs`` when given (space-separated), and ``env``;
    ``args`` are the builder's arguments. A store path used in ``args`` or ``env`` must be
    listed in ``input_srcs`` (sources) or ``input_drvs`` (``.drv`` path -> outputs used), as
    Nix's string context would. The host computes the output paths; returns them with the
    ``.drv`` path."""
    input_drvs = {p: list(o) for p, o in (input_drvs or {}).items()}

    def text(value):
        # A derivation stands for its `out` output and becomes an input, as "${drv}" does.
        if isinstance(value, Added):
            used = input_drvs.setdefault(value.drv_path, [])
            if "out" not in used:
                used.append("out")
            return value.out
        return value

    args = [text(a) for a in args]
    variables = {"builder": builder, "name": name, "system": system}
    if outputs is not None:
        variables["outputs"] = " ".join(outputs)
    for key, value in (env or {}).items():
        value = text(value)
        if not isinstance(value, str):
            raise TypeError(f"environment variable {key!r} must be a string, not {type(value).__name__}")
        variables[key] = value
    drv = _store.Derivation(
        name=name,
        outputs=[_store.DerivationOutput(name=o, fixed=None) for o in (outputs or ["out"])],
        input_drvs=[_store.InputDrv(drv_path=p, outputs=sorted(o)) for p, o in input_drvs.items()],
        input_srcs=list(input_srcs),
        system=system,
        builder=builder,
        args=list(args),
        env=sorted(variables.items()),
    )
    added = _call("add-derivation", _store.add_derivation, drv)
    return Added(drv_path=added.drv_path, outputs=dict(added.outputs))


def build(added: Added, outputs: list[str] = ()) -> dict:
    """Builds a derivation's outputs (all when none are named); returns ``output -> path``.
    Raises ``StoreError`` with the builder's message when the build fails."""
    report = _call(
        "build-paths",
        _store.build_paths,
        [_store.DerivedPath(drv_path=added.drv_path, outputs=list(outputs))],
    )
    for result in report.results:
        if not result.success:
            raise StoreError("build-paths", result.error_message or f"building {added.drv_path} failed")
    return {name: path for result in report.results for name, path in result.outputs}
