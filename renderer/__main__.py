"""``python -m renderer`` runs the Tailor CLI."""

from renderer.cli import main

main()
