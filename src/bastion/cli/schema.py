"""``bastion schema``: the pipeline file's JSON Schema, for editors."""

from __future__ import annotations

import json

import typer

from bastion.cli.console import out_console
from bastion.pipeline import pipeline_json_schema

__all__ = ["register"]


def schema_command() -> None:
    """Print the JSON Schema of .bastion/pipeline.yml."""
    out_console.print_json(json.dumps(pipeline_json_schema()))


def register(app: typer.Typer) -> None:
    """Add ``bastion schema``."""
    app.command("schema")(schema_command)
