"""evalbox's guest SDK for Python: derivations and store paths from a frontend written in Python.

A Python guest is a component built by componentize-py from the WIT world ``evaluator``
(``guest-abi/wit``) and this module (see ``guest-abi/README.md``). The store is reached only
through the ``evalbox:guest/store`` import; files are read with ``open`` from the read-only
source directories the host granted. This layer makes the store calls the way Nix's
``builtins.derivation``, ``"${./path}"`` and ``builtins.toFile`` make them, so the same
derivation written here and in Nix gives the same ``.drv``.
"""

from dataclasses import dataclass, field
import os

from wit_world.imports import store as _store
from componentize_py_types import Err

__all__ = ["StoreError", "Added", "derivation", "add_path", "to_file", "read_source", "build", "store_dir"]


class StoreError(Exception):
    """A store operation failed; ``kind`` is the WIT error case (``not-found``, ``refused``, ...)."""

    def __init__(self, operation: str, error):
        self.kind = type(error).__name__.removeprefix("Error_").replace("_", "-").lower()
        message = getattr(error, "value", error)
        super().__init__(f"{operation}: {message}")


def _call(operation: str, f, *args):
    try:
        return f(*args)
    except Err as e:
        raise StoreError(operation, e.value) from None


@dataclass
class Added:
    """A derivation written to the store: its ``.drv`` path and ``output -> path``."""

    drv_path: str
    outputs: dict = field(default_factory=dict)

    @property
    def out(self) -> str:
        """The path of the ``out`` output (what ``"${drv}"`` is in Nix)."""
        return self.outputs["out"]


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
    variables = {"builder": builder, "name": name, "system": system}
    if outputs is not None:
        variables["outputs"] = " ".join(outputs)
    for key, value in (env or {}).items():
        if not isinstance(value, str):
            raise TypeError(f"environment variable {key!r} must be a string, not {type(value).__name__}")
        variables[key] = value
    drv = _store.Derivation(
        name=name,
        outputs=[_store.DerivationOutput(name=o, fixed=None) for o in (outputs or ["out"])],
        input_drvs=[_store.InputDrv(drv_path=p, outputs=list(o)) for p, o in (input_drvs or {}).items()],
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
