"""``idp accounts``: reseller accounts (placeholder)."""

import click


@click.group()
def accounts():
    """Reseller accounts."""
