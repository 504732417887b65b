"""Renderers: a kernel plan as CUDA C++, a NumPy twin or Triton tensor-core kernels.

Each is a :class:`Renderer` subclass that differs in tables, picked by name from
:data:`RENDERERS`.
"""

from kernels.render.base import Renderer
from kernels.render.cuda import CudaRenderer, render_cuda
from kernels.render.registry import RENDERERS, renderer_class
from kernels.render.triton import TritonRenderer, render_triton
from kernels.render.twin import TwinRenderer, render_twin

__all__ = [
    "RENDERERS",
    "CudaRenderer",
    "Renderer",
    "TritonRenderer",
    "TwinRenderer",
    "render_cuda",
    "render_triton",
    "render_twin",
    "renderer_class",
]
