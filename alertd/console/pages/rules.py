"""Every running rule with its clauses, how often it fired, was suppressed or met a type
mismatch since the daemon started (from the metrics), and when it last fired."""

from __future__ import annotations

from collections import defaultdict

from alertd import metrics
from alertd.console.page import Page
from alertd.console.routing import get
from alertd.engine.state import AlertQuery
from alertd.server.asgi import Response
from alertd.server.views import rule_view


@get("/ui/rules", nav="Rules", order=50)
async def rules_page(page: Page) -> Response:
    counts = _counts()
    shown = []
    for rule in page.core.rules():
        last = await page.core.alerts(AlertQuery(rule=rule.id, limit=1))
        view = rule_view(rule)
        view["counts"] = counts.get(rule.id, {})
        view["last_fired"] = last.records[0].alert.fired_at if last.records else None
        view["last_alert"] = last.records[0].alert.id if last.records else None
        shown.append(view)
    return page.render("rules.html", rules=shown)


def _counts() -> dict[str, dict[str, float]]:
    """Per rule: fired, suppressed, counting and mismatches since the daemon started."""
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    for family in metrics.RULE_DECISIONS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels["rule"]][sample.labels["decision"]] = sample.value
    for family in metrics.EVALUATION_ERRORS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels["rule"]]["mismatches"] = sample.value
    return counts
