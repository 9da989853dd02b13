"""The messages that list several alerts, as the shipped templates render them for every
channel, and what happens when a bundle template is broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from alertd.engine.state import AlertRecord
from alertd.notify.render import Renderer
from alertd.notify.sms_encoding import cap_sms
from alertd.storms.bundles import Bundle, headline, render_bundle
from tests.notify.conftest import TEMPLATES, make_alert, make_settings


def records(count: int, **fields: object) -> list[AlertRecord]:
    return [
        AlertRecord(make_alert(id=f"01KDBUNDLE{n:016d}", key=(f"v-{n}",), **fields))
        for n in range(1, count + 1)
    ]


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    return Renderer.load(TEMPLATES, make_settings(tmp_path).notify)


def test_headlines() -> None:
    assert headline(Bundle("cap", [], records(7))) == "+7 more alerts"
    assert headline(Bundle("cap", [], records(1))) == "+1 more alert"
    group = Bundle("group", ["depot-7"], records(20, rule_name="Harsh braking"))
    assert headline(group) == "20 alerts: Harsh braking (depot-7)"
    assert headline(Bundle("digest", [], records(3))) == "Digest: 3 alerts"
    assert headline(Bundle("quiet", [], records(2))) == "2 alerts during quiet hours"


def test_every_channel_lists_a_group(renderer: Renderer, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, server={"public_url": "https://alertd.test"})
    group = Bundle("group", ["depot-7"], records(20, rule_name="Harsh braking"))

    email = render_bundle(renderer, group, "email", "email", settings)
    assert email["subject"] == "[HIGH] 20 alerts: Harsh braking (depot-7)"
    assert email["html"].count("<tr>") == 21  # a header and a row per alert
    assert "v-20" in email["text"]

    body = orjson.loads(render_bundle(renderer, group, "webhook", "webhook", settings)["body"])
    assert body["group"] == {"key": ["depot-7"], "count": 20}
    assert [a["key"] for a in body["alerts"]] == [[f"v-{n}"] for n in range(1, 21)]
    assert body["url"] == "https://alertd.test/ui/alerts?status=firing&rule=critical_safety"

    slack = render_bundle(renderer, group, "slack", "slack", settings)
    assert slack["title"] == "20 alerts: Harsh braking (depot-7)"
    assert slack["text"].count("\n• ") == 19
    assert slack["url"] == body["url"]

    push = render_bundle(renderer, group, "push", "push", settings)
    assert push["body"] == "v-1; v-2; v-3; v-4; v-5 and 15 more"
    assert orjson.loads(push["data"]["count"]) == 20

    sms = render_bundle(renderer, group, "sms", "sms", settings)["text"]
    assert sms.startswith("20 alerts: Harsh braking (depot-7): v-1; v-2; ")
    assert "and 12 more https://alertd.test/ui/alerts" in sms


def test_an_sms_summary_stays_within_the_segment_cap(renderer: Renderer, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, notify={"sms_max_segments": 2})
    renderer = Renderer.load(TEMPLATES, settings.notify)
    many = Bundle("cap", [], records(40, rule_name="A rather long rule name, to fill it up"))
    text = render_bundle(renderer, many, "sms", "sms", settings)["text"]
    assert text.startswith("+40 more alerts: ")
    assert cap_sms(text, 2) == text  # it fits: cut once, and cutting again changes nothing
    assert text.endswith("...")


def test_a_broken_bundle_template_sends_the_fallback_and_check_says_where(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "sms" / "bundle" / "text.txt").write_text("{{ bundle.headline }}\n{{ 1 / 0 }}\n")
    settings = make_settings(tmp_path, rules={"templates": str(folder)})
    renderer = Renderer.load(folder, settings.notify)
    content = render_bundle(renderer, Bundle("cap", [], records(3)), "sms", "sms", settings)
    assert content["text"].startswith("+3 more alerts:\n[HIGH] Critical Safety Event: v-1")
    (problem,) = renderer.check([(make_alert(), ["sms"])])
    assert (Path(problem.path).name, problem.line) == ("text.txt", 2)
    assert "bundle" in problem.path and "division by zero" in problem.message
