"""The renderers by name: ``cuda`` (CUDA C++), ``twin`` (NumPy) and ``triton`` (Triton)."""

from __future__ import annotations

from kernels.errors import KernelError
from kernels.render.base import Renderer
from kernels.render.cuda import CudaRenderer
from kernels.render.triton import TritonRenderer
from kernels.render.twin import TwinRenderer

RENDERERS: dict[str, type[Renderer]] = {
    CudaRenderer.name: CudaRenderer,
    TwinRenderer.name: TwinRenderer,
    TritonRenderer.name: TritonRenderer,
}


def renderer_class(name: str) -> type[Renderer]:
    """Return the renderer registered as ``name``.

    Raises:
        KernelError: ``name`` is not registered; the message lists the valid names.
    """
    try:
        return RENDERERS[name]
    except KeyError:
        valid = ", ".join(sorted(RENDERERS))
        raise KernelError.single(
            "K006", f"unknown renderer '{name}'", hint=f"valid renderers: {valid}"
        ) from None
