"""The on-call console: web pages for alerts, who is on call and the rules, served by `alertd
run` at /ui/ (alertd.console.app), from the templates and static files in this package."""

from alertd.console.app import Console

__all__ = ["Console"]
