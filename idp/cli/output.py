"""Printing results: a readable table by default, JSON with ``--json``; errors as a message naming the field."""

from __future__ import annotations

import json

import click

from ..errors import IdpError


def emit(data, as_json: bool, columns: list[str] | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    rows = data if isinstance(data, list) else [data]
    columns = columns or (list(rows[0]) if rows else [])
    widths = {c: max([len(c)] + [len(_cell(r.get(c))) for r in rows]) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(_cell(row.get(c)).ljust(widths[c]) for c in columns))


def _cell(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def fail(exc: IdpError) -> None:
    raise click.ClickException(exc.public)
