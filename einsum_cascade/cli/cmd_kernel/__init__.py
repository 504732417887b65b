"""The ``kernel`` command group: one module per subcommand, registered here in help order.

``gen`` renders a plan, ``check`` compiles it and gates its resources, ``run`` and ``bench``
execute it on a backend, ``model`` predicts its time; :mod:`.plan` builds the plan they share.
"""

import typer

from einsum_cascade.cli.app import app
from einsum_cascade.cli.cmd_kernel import check, gen, model, run

kernel_app = typer.Typer(
    help="Generate CUDA kernels and NumPy twins from a cascade; compile, run, time and model them.",
    no_args_is_help=True,
)
app.add_typer(kernel_app, name="kernel")
kernel_app.command("gen")(gen.gen)
kernel_app.command("check")(check.check)
kernel_app.command("run")(run.run)
kernel_app.command("bench")(run.bench)
kernel_app.command("model")(model.model)

__all__ = ["kernel_app"]
