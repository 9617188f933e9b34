"""Command-line and other user-facing entry points."""
