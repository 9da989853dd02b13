"""One module per `alertd` subcommand, each with `main(settings, args) -> exit code`."""
