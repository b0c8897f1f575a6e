"""`python -m worldsmith` is the same as the `worldsmith` command."""

from worldsmith.cli import app

app()
