"""Where specs are found by name: built-in accelerator specs, built-in and measured machine specs.

Two kinds of spec share the word "spec" and nothing else: an *accelerator* spec (levels,
arrays, per-action energies; ``--arch``) and a *machine* spec (a GPU's datasheet or a
measured CPU; ``--machine``). Each kind has its own folder, and a name resolves only within
the kind a command needs; a name of the other kind gets one error that says so.

Measured machine specs (``einsum-cascade calibrate``) go to the user's machine folder,
``$EINSUM_CASCADE_HOME/machines`` (default ``~/.einsum-cascade/machines``), where every
command that takes ``--machine`` finds them by name.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

from einsum_cascade.diagnostics import suggest
from mappers.errors import SpecError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
ACCELERATOR_DIR = DATA_DIR / "accelerators"
MACHINE_DIR = DATA_DIR / "machines"
YAML_SUFFIXES = (".yaml", ".yml")


class SpecKind(enum.Enum):
    """The two kinds of spec, with the flag that takes each."""

    ACCELERATOR = "accelerator"
    MACHINE = "machine"

    @property
    def flag(self) -> str:
        return "--arch" if self is SpecKind.ACCELERATOR else "--machine"


def user_machine_dir() -> Path:
    """Return the folder where measured machine specs are written and found by name."""
    home = os.environ.get("EINSUM_CASCADE_HOME")
    base = Path(home) if home else Path.home() / ".einsum-cascade"
    return base / "machines"


def _folders(kind: SpecKind) -> tuple[Path, ...]:
    if kind is SpecKind.ACCELERATOR:
        return (ACCELERATOR_DIR,)
    return (user_machine_dir(), MACHINE_DIR)


def spec_names(kind: SpecKind) -> tuple[str, ...]:
    """Return the names of every spec of ``kind`` that resolves by name."""
    found = {p.stem for folder in _folders(kind) if folder.is_dir() for p in folder.glob("*.yaml")}
    return tuple(sorted(found))


def resolve_spec(name_or_path: str | Path, kind: SpecKind) -> Path:
    """Return the file a spec name (``fusemax``, ``h100``) or path names, within ``kind``.

    Raises:
        SpecError: S100 no such spec (did-you-mean among ``kind``'s names), or S105 a name
            of the other kind (which flag takes it).
    """
    path = Path(name_or_path)
    if path.suffix in YAML_SUFFIXES or path.exists():
        if not path.exists():
            raise SpecError.single("S100", f"no such file: {path}")
        return path
    name = str(name_or_path)
    for folder in _folders(kind):
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    other = SpecKind.MACHINE if kind is SpecKind.ACCELERATOR else SpecKind.ACCELERATOR
    if name in spec_names(other):
        raise SpecError.single(
            "S105",
            f"'{name}' is {'a machine' if other is SpecKind.MACHINE else 'an accelerator'} "
            f"spec, not {'an accelerator' if kind is SpecKind.ACCELERATOR else 'a machine'} spec",
            None,
            f"{other.flag} takes it; {kind.value} specs: {', '.join(spec_names(kind))}",
        )
    known = spec_names(kind)
    hint = suggest(name, known) or f"{kind.value} specs: {', '.join(known)}"
    raise SpecError.single("S100", f"no {kind.value} spec '{name}'", None, hint)
