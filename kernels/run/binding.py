"""Bind a plan's extents to its inputs and size the tensors it writes, for every backend."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from einsum_cascade import TensorKind
from kernels.errors import KernelError
from kernels.plan.lower import KernelPlan

OUTPUT_FILL = float("nan")  # unwritten outputs stay NaN and fail every comparison


def bind_extents(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Infer runtime extents from input shapes and check the static ones."""
    bound: dict[str, int] = dict(extents or {})
    for tensor in plan.cascade.inputs:
        if tensor.name not in inputs:
            raise KernelError.single("K501", f"input '{tensor.name}' is missing")
        shape = inputs[tensor.name].shape
        if len(shape) != len(tensor.ranks):
            raise KernelError.single(
                "K502",
                f"input '{tensor.name}' has {len(shape)} dimensions, expected "
                f"{len(tensor.ranks)} ({', '.join(tensor.ranks)})",
            )
        for rank, size in zip(tensor.ranks, shape, strict=True):
            if bound.setdefault(rank, int(size)) != size:
                raise KernelError.single(
                    "K502", f"rank {rank} is {bound[rank]} elsewhere but {size} in '{tensor.name}'"
                )
    for static, value in plan.tiling.static_extents:
        if bound.get(static, value) != value:
            raise KernelError.single(
                "K503",
                f"the kernel is compiled for {static} = {value} but the inputs have "
                f"{bound[static]}",
                hint=f"plan the kernel with {static}={bound[static]}",
            )
        bound[static] = value
    missing = [r for r in plan.runtime_extents() if r not in bound]
    if missing:
        raise KernelError.single("K504", f"extent {', '.join(missing)} must be given")
    return bound


def tensor_shape(plan: KernelPlan, name: str, extents: Mapping[str, int]) -> tuple[int, ...]:
    """Return the shape of tensor ``name`` at the given extents."""
    return tuple(extents[r] for r in plan.cascade.tensor(name).ranks)


def produced_tensors(plan: KernelPlan) -> tuple[str, ...]:
    """Return the tensors the plan's kernels write (outputs and workspace), in launch order."""
    names: dict[str, None] = {}
    for kernel in plan.kernels:
        for name in kernel.params:
            if plan.cascade.tensor(name).kind is not TensorKind.INPUT:
                names.setdefault(name, None)
    return tuple(names)
