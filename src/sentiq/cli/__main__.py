"""``python -m sentiq.cli``: the same as the `sentiq` command."""

from sentiq.cli.app import app

app()
