"""Kernel plans: a cascade plus a tiling lowered to frozen kernels, tile loops and steps.

Lowering includes the fusion of per-coordinate steps and the presence analysis of filters.
"""

from kernels.plan.lower import plan_kernels
from kernels.plan.nodes import KernelPlan
from kernels.plan.tiling import Tiling

__all__ = ["KernelPlan", "Tiling", "plan_kernels"]
