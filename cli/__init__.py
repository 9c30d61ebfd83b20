"""The neurocompile command line (typer)."""
