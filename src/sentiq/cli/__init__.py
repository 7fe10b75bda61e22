"""The `sentiq` command line (entry point ``sentiq.cli:app``); see :mod:`sentiq.cli.app`.

Commands import the function they call inside their body on purpose: `sentiq --help` and
light commands (config, runs, a TF-IDF predict) never load torch, transformers or matplotlib.
"""

from sentiq.cli.app import app

__all__ = ["app"]
