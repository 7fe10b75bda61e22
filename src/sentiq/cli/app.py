"""The `sentiq` command: typer apps assembled from one module per command group.

Each command is a thin shell over an importable function (mostly :mod:`sentiq.workflows`):
parse flags, show progress, print a table.
"""

from __future__ import annotations

import typer

from sentiq.cli import config, data, evaluation, export, models, monitor, predict, runs, serve, training
from sentiq.cli.common import setup_logging

app = typer.Typer(
    help="sentiq: train, evaluate and ship sentiment models.", no_args_is_help=True, pretty_exceptions_enable=False
)
data_app = typer.Typer(help="Look at datasets before training on them.", no_args_is_help=True)
app.add_typer(data_app, name="data")
runs_app = typer.Typer(help="Recorded train, evaluate and compare runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
models_app = typer.Typer(help="Built-in models and optional encoders fetched on request.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details.")) -> None:
    setup_logging(verbose)


# Registration order is the order `sentiq --help` lists the commands in.
app.command()(training.train)
app.command()(training.compare)
app.command()(training.pretrain)
app.command()(training.distill)
app.command()(evaluation.evaluate)
app.command("route")(training.route_cmd)
app.command()(predict.predict)
app.command()(serve.serve)
app.command("export")(export.export_cmd)
app.command()(predict.explain)
app.command()(evaluation.calibrate)
app.command()(evaluation.fairness)
app.command()(monitor.monitor)
data_app.command("inspect")(data.data_inspect)
runs_app.command("list")(runs.runs_list)
runs_app.command("compare")(runs.runs_compare)
app.command("config")(config.config_cmd)
models_app.command("list")(models.models_list)
models_app.command("fetch")(models.models_fetch)
