"""One vocabulary: backends and compilers are registries; tiling options declared once."""

import pytest
import typer
from typer.testing import CliRunner

from einsum_cascade.cli import app
from kernels.build.compile import COMPILERS, get_compiler
from kernels.errors import KernelError
from kernels.run.backends import BACKENDS, get_backend


@pytest.fixture(autouse=True)
def _commands():
    from einsum_cascade.cli import _register_commands

    _register_commands()


def invoke(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


def test_backend_registry_lists_valid_names():
    assert tuple(BACKENDS) == ("numpy", "shim", "cupy", "triton", "triton-gpu")
    with pytest.raises(KernelError) as caught:
        get_backend("opencl")
    assert caught.value.codes == ("K402",)
    assert "valid backends: numpy, shim, cupy" in str(caught.value)


def test_compiler_registry_lists_valid_names():
    assert tuple(COMPILERS) == ("nvrtc", "nvcc")
    with pytest.raises(KernelError) as caught:
        get_compiler("clang")
    assert "valid compilers: nvrtc, nvcc" in str(caught.value)


def test_kernel_check_takes_target_and_compiler_not_arch_and_backend():
    old = invoke("kernel", "check", "attention/1pass", "--arch", "sm_90")
    assert old.exit_code == 2 and "Traceback" not in old.output
    assert "write --target sm_90" in old.output
    old = invoke("kernel", "check", "attention/1pass", "--backend", "nvcc")
    assert old.exit_code == 2 and "write --compiler nvcc" in old.output
    assert "--arch" not in invoke("kernel", "check", "--help").output
    wrong = invoke("kernel", "check", "attention/1pass", "--compiler", "clang")
    assert wrong.exit_code == 2
    assert "valid compilers: nvrtc, nvcc" in wrong.output


def test_compare_rejects_an_unknown_backend_with_the_valid_names():
    result = invoke("compare", "--cascade", "attention/1pass", "--backend", "tpu")
    assert result.exit_code == 2
    assert "valid backends: numpy, shim, cupy" in result.output


def _options(command: str) -> dict[str, tuple]:
    group = typer.main.get_command(app)
    kernel = group.commands["kernel"]
    return {
        p.name: (tuple(p.opts), p.default, p.help)
        for p in kernel.commands[command].params
        if p.param_type_name == "option"
    }


def test_the_four_kernel_commands_share_the_tiling_options():
    names = ("tile", "extent", "dtype", "unroll", "parallel", "sequence", "placement", "grid")
    declared = [{n: _options(c)[n] for n in names} for c in ("gen", "check", "run", "bench")]
    assert all(d == declared[0] for d in declared)
    assert declared[0]["tile"][0] == ("--tile",)


def test_a_tile_beyond_2_31_is_a_usage_error_not_a_crash():
    result = invoke("kernel", "gen", "attention/1pass", "--tile", "M0=4294967296")
    assert result.exit_code == 2
    assert "--tile M0" in result.output
