"""`python -m hudproxy` runs the CLI, for environments where the console script is not on PATH."""

from hudproxy.cli import main

main()
