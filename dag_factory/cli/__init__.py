"""Command line: thin wiring of argument parsing, output formats and exit codes."""
