"""The `sentiq` command line (entry point ``sentiq.cli:app``); see :mod:`sentiq.cli.app`."""

from sentiq.cli.app import app

__all__ = ["app"]
