"""``python -m app`` is the same as the ``factloom`` command."""

from app.cli import main

main()
