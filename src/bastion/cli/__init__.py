"""Bastion's command line: thin Typer commands that call one library function each."""
