"""The config command: every config key, or one config validated."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import friendly_errors, out


@friendly_errors
def config_cmd(
    config: Optional[Path] = typer.Argument(None, help="A config to validate and print in full."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: training.epochs=2."),
) -> None:
    """Without FILE: every config key with its default and meaning. With FILE: the validated config."""
    import yaml

    from sentiq.config import describe_fields, load_config

    if config is None and not set_:
        table = Table(title="sentiq config keys")
        for column in ("key", "default", "meaning"):
            table.add_column(column)
        for key, default, description in describe_fields():
            table.add_row(key, default, description)
        out.print(table)
        return
    sys.stdout.write(yaml.safe_dump(load_config(config, set_).to_dict(), sort_keys=False, allow_unicode=True))
