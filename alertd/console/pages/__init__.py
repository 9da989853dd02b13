"""The console's pages: importing this package registers every route (alertd.console.routing).
A new page is a module here (one handler and its template), imported below."""

from alertd.console.pages import alerts, live, oncall, rules, signin, silences

__all__ = ["alerts", "live", "oncall", "rules", "signin", "silences"]
