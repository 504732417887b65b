"""``reproduce fusemax --no-figures --no-cache``: the CSVs without figures or cache entries."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app
from mappers.cost import cache
from mappers.cost.model import build_cost_model

_register_commands()


def test_no_figures_writes_the_csvs_only_and_no_cache_writes_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(cache.DISABLE_ENV, raising=False)
    build_cost_model.cache_clear()
    out = tmp_path / "out"
    try:
        result = CliRunner().invoke(
            app, ["reproduce", "fusemax", "--out", str(out), "--no-figures", "--no-cache"]
        )
    finally:
        os.environ.pop(cache.DISABLE_ENV, None)
        build_cost_model.cache_clear()
    assert result.exit_code == 0, result.output
    assert (out / "headline.csv").exists() and (out / "attn-binding.csv").exists()
    assert not list(out.glob("*.png"))
    assert not (tmp_path / "cache").exists()
