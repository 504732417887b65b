"""Kernel plans: a cascade plus a tiling lowered to frozen kernels, tile loops and steps (with
fusion and presence analysis).
"""

from kernels.plan.lower import plan_kernels
from kernels.plan.nodes import KernelPlan
from kernels.plan.tiling import Tiling

__all__ = ["KernelPlan", "Tiling", "plan_kernels"]
