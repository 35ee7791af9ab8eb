"""The `copflow` command line (typer). Read-only commands never import Prefect."""
