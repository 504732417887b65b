"""Allow ``python -m einsum_cascade``."""

from einsum_cascade.cli import main

main()
