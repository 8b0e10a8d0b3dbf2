"""``python -m idp``: the same as the ``idp`` console script."""

from .cli import cli

cli()
