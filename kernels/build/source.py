"""Rendered CUDA source with the signatures of its kernels: what compilers and the shim read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KernelParam:
    """One kernel parameter: its name and C type (``const float*``, ``int``, ``float``)."""

    name: str
    ctype: str

    @property
    def is_pointer(self) -> bool:
        """Tell whether the parameter is a device pointer."""
        return self.ctype.endswith("*")

    @property
    def element_ctype(self) -> str:
        """Return the pointee type of a pointer (``const __half*`` -> ``__half``)."""
        return self.ctype.rstrip("*").replace("const ", "").strip()


@dataclass(frozen=True, slots=True)
class KernelSignature:
    """An ``extern "C"`` kernel entry point."""

    name: str
    params: tuple[KernelParam, ...]


@dataclass(frozen=True, slots=True)
class KernelSource:
    """CUDA C++ text and the entry points it defines, in launch order."""

    text: str
    kernels: tuple[KernelSignature, ...]

    def kernel(self, name: str) -> KernelSignature:
        """Return the signature of kernel ``name``."""
        for signature in self.kernels:
            if signature.name == name:
                return signature
        raise KeyError(name)
