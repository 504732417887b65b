"""The command line lists its commands from a static table and imports a module on demand."""

from __future__ import annotations

import json
import subprocess
import sys

import typer.main

import einsum_cascade
from einsum_cascade.cli import _register_commands, app
from einsum_cascade.cli.commands import COMMANDS

HEAVY = ("sympy", "networkx", "pandas", "matplotlib", "pyarrow", "numpy")


def _modules_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the HEAVY modules it imported."""
    report = f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_the_table_lists_exactly_the_registered_commands_with_their_help() -> None:
    _register_commands()
    group = typer.main.get_group(app)
    registered = {}
    for name in group.list_commands(None):  # type: ignore[arg-type]
        command = group.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None
        registered[name] = (command.help or "").strip().splitlines()[0]
    table = {e.name: e.help for e in COMMANDS}
    assert table == registered
    modules = {
        c.name or c.callback.__name__.replace("_", "-"): c.callback.__module__
        for c in app.registered_commands
        if c.callback is not None
    }
    for g in app.registered_groups:
        first = g.typer_instance.registered_commands[0].callback
        assert g.name is not None and first is not None
        # a group's cmd_* module may be a package with a module per subcommand
        modules[g.name] = ".".join(first.__module__.split(".")[:3])
    assert {e.name: f"einsum_cascade.cli.{e.module}" for e in COMMANDS} == modules


def test_importing_the_cli_and_the_package_loads_no_analysis_library() -> None:
    assert _modules_after("import einsum_cascade, einsum_cascade.cli") == []


def test_help_lists_every_command_without_importing_its_module() -> None:
    code = (
        "import sys\nfrom einsum_cascade.cli import main\nsys.argv = ['einsum-cascade', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert not [m for m in sys.modules if m.startswith('einsum_cascade.cli.cmd_')]"
    )
    assert _modules_after(code) == []
    out = subprocess.run(
        [sys.executable, "-m", "einsum_cascade", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": ""},
    ).stdout
    for entry in COMMANDS:
        assert entry.name in out and entry.help in out


def test_a_command_runs_after_a_fresh_start_and_unknown_ones_are_refused() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "einsum_cascade", "check", "attention/1pass"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("ok: attention_1pass")
    bad = subprocess.run(
        [sys.executable, "-m", "einsum_cascade", "chek"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "No such command" in bad.stderr


def test_the_package_resolves_every_public_name_lazily() -> None:
    for name in einsum_cascade.__all__:
        assert getattr(einsum_cascade, name) is not None
    assert set(einsum_cascade.__all__) <= set(dir(einsum_cascade))


def test_check_parses_and_checks_without_sympy_networkx_or_numpy() -> None:
    code = (
        "import sys\nfrom einsum_cascade.cli import main\n"
        "sys.argv = ['einsum-cascade', 'check', 'attention/1pass']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code\n"
    )
    assert _modules_after(code) == []
