import pytest

from kernels.build import nvrtc
from kernels.build.cache import CACHE_ENV, cache_root, content_key
from kernels.build.compile import (
    TARGETS,
    CompiledKernel,
    FunctionResources,
    check_resources,
    compile_source,
    parse_ptxas_log,
)
from kernels.errors import KernelError

SMALL = r"""
extern "C" __global__ void scale(const float* x, float* y, int n) {
    __shared__ float tile[128];
    const int i = blockIdx.x * 128 + threadIdx.x;
    tile[threadIdx.x] = i < n ? x[i] : 0.f;
    __syncthreads();
    if (i < n) y[i] = 2.f * tile[threadIdx.x];
}
"""

LOG = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'flash' for 'sm_90'
ptxas info    : Function properties for flash
    120 bytes stack frame, 120 bytes spill stores, 116 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 41088 bytes smem, 400 bytes cmem[0]
ptxas info    : Compiling entry function 'tiny' for 'sm_90'
ptxas info    : Function properties for tiny
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 9 registers, 372 bytes cmem[0]
"""


def test_parse_ptxas_log_reads_every_function():
    assert parse_ptxas_log(LOG) == (
        FunctionResources("flash", 255, 41088, 120, 120, 116, 1),
        FunctionResources("tiny", 9, 0, 0, 0, 0, 0),
    )


def _compiled(resources):
    return CompiledKernel("sm_90", "nvcc", cache_root(), "", resources, "k")


def test_spills_fail_the_resource_gate():
    with pytest.raises(KernelError) as info:
        check_resources(_compiled(parse_ptxas_log(LOG)))
    assert info.value.codes == ("K102",)
    assert "kernel 'flash' spills registers on sm_90 (120 bytes stored, 116 bytes loaded)" in str(
        info.value
    )


def test_shared_memory_over_limit_fails_the_resource_gate():
    # 48 KiB = 49152 bytes; one byte more must fail
    over = FunctionResources("k", 32, 49153, 0, 0, 0, 1)
    with pytest.raises(KernelError) as info:
        check_resources(_compiled((over,)))
    assert info.value.codes == ("K101",)


@pytest.mark.parametrize("compiler", ["nvcc", "nvrtc"])
@pytest.mark.parametrize("target", TARGETS)
def test_compile_reports_resources(compiler, target):
    compiled = compile_source(SMALL, target, compiler)
    scale = compiled.function("scale")
    assert scale.shared_bytes == 512  # 128 floats x 4 bytes
    assert scale.registers > 0
    assert not scale.spills
    assert compiled.cubin_path.read_bytes()[:4] == b"\x7fELF"
    check_resources(compiled)


@pytest.mark.parametrize("compiler", ["nvcc", "nvrtc"])
def test_oversize_static_shared_memory_is_a_kernel_error(compiler):
    # 13000 floats = 52000 bytes > 49152
    with pytest.raises(KernelError) as info:
        compile_source(SMALL.replace("tile[128]", "tile[13000]"), "sm_90", compiler)
    assert info.value.codes == ("K101",)
    assert "needs 52000 bytes of static shared memory on sm_90" in str(info.value)


def test_compile_error_is_a_kernel_error():
    with pytest.raises(KernelError) as info:
        compile_source(SMALL.replace("2.f *", "undefined_symbol *"), "sm_80", "nvrtc")
    assert info.value.codes == ("K206",)
    assert "undefined_symbol" in str(info.value)


def test_unknown_compiler_lists_valid_ones():
    with pytest.raises(KernelError) as info:
        compile_source(SMALL, "sm_90", "clang")
    assert "valid compilers: nvrtc, nvcc" in str(info.value)


def test_cache_honours_env_override_and_reuses_entries(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_root() == tmp_path
    first = compile_source(SMALL, "sm_80", "nvrtc")
    assert first.cubin_path.is_relative_to(tmp_path)
    stamp = first.cubin_path.stat().st_mtime_ns
    second = compile_source(SMALL, "sm_80", "nvrtc")
    assert second.key == first.key
    assert second.cubin_path.stat().st_mtime_ns == stamp  # not rebuilt
    assert compile_source(SMALL, "sm_90", "nvrtc").key != first.key


def test_content_key_separates_parts():
    assert content_key("ab", "c") != content_key("a", "bc")


def test_nvrtc_loads_from_the_wheel():
    major, _ = nvrtc.version()
    assert major >= 12
    assert "nvidia" in nvrtc.library_path().parts
