"""User-facing entry points: the `deputy` command line."""
