"""A config reload on a running ``lingofeed run`` applies everything, or says what needs a restart.

Driven as an operator would: the service in a subprocess, the config file edited under it, the
feeds read over HTTP. A revoked partner token stops working within the reload; [output] and
language words are re-published at once; a removed source's items leave the feeds at once.
"""

from __future__ import annotations

import json

from tests.test_service import EN, WIRE, WIRE_TITLE

ACME = "acme-token-0123456789"
BETA = "beta-token-0123456789"
PARTNERS = f"""
[partners.acme]
token = "{ACME}"

[partners.beta]
token = "{BETA}"
"""
WIRE_SOURCE = """[[sources]]
id = "wire"
"""


def test_a_partner_removed_from_the_config_loses_access_within_the_reload(
    feed_server, service_config, running_service
):
    config = service_config(feed_server.add("/wire.xml", WIRE, etag='"v1"'))
    config.write_text(config.read_text(encoding="utf-8") + PARTNERS, encoding="utf-8")
    service = running_service(config)
    service.wait_for(r"source=wire .*event=published")
    assert service.get(f"/p/{ACME}/en/feed.xml").status_code == 200
    assert service.get(f"/p/{BETA}/en/feed.xml").status_code == 200

    edited = config.read_text(encoding="utf-8").replace(f'[partners.acme]\ntoken = "{ACME}"\n', "")
    edited = edited.replace("[server]\n", "[server]\npublic = false\n")
    mark = len(service.log())
    config.write_text(edited, encoding="utf-8")
    service.wait_for(r"event=config-reloaded", after=mark)
    assert service.get(f"/p/{ACME}/en/feed.xml").status_code == 404
    assert service.get(f"/p/{BETA}/en/feed.xml").status_code == 200
    assert service.get("/en/feed.xml").status_code == 404, "public = false applies too"
    assert "config-needs-restart" not in service.log()[mark:]


def test_output_edits_republish_at_once_and_a_removed_source_leaves_the_feeds(
    feed_server, service_config, running_service
):
    config = service_config(feed_server.add("/wire.xml", WIRE, etag='"v1"'))
    service = running_service(config)
    service.wait_for(r"source=wire .*event=published")
    service.wait_for(r"source=articles .*event=published")
    english = json.loads(service.get("/en/feed.json").text)
    assert EN[WIRE_TITLE] in [item["title"] for item in english["items"]]
    assert len(english["items"]) > 1

    text = config.read_text(encoding="utf-8")
    head, _, wire = text.partition(WIRE_SOURCE)
    edited = (
        head.replace('base_url = "http://127.0.0.1:8080/"',
                     'base_url = "https://feeds.example.org/news/"\nitem_limit = 1')
        .replace("News (English)", "World news")
        .replace('directory = "models"', 'directory = "other-models"')
        + wire[wire.index("\n[glossary"):]
    )  # fmt: skip
    assert "wire" not in edited and "feeds.example.org" in edited
    mark = len(service.log())
    config.write_text(edited, encoding="utf-8")
    service.wait_for(r"event=config-reloaded sources=1", after=mark)
    service.wait_for(r"event=config-needs-restart keys=models\.directory\b", after=mark)
    service.wait_for(r"source=- .*event=published", after=mark)

    english = json.loads(service.get("/en/feed.json").text)
    assert english["title"] == "World news"
    assert english["feed_url"] == "https://feeds.example.org/news/en/feed.json"
    assert len(english["items"]) == 1, "[output] item_limit"
    for path in ("/en/feed.xml", "/en/atom.xml", "/fr/feed.json"):
        body = service.get(path).text
        assert "wire.example.org" not in body, path
        assert "https://feeds.example.org/news/" in body, path
    assert service.get("/status.json").status_code == 200, "models keep the running directory"
    assert "source=wire" in service.log()[mark:]  # items_unpublished logged
    assert service.stop() == 0


def test_a_filter_edit_applies_at_once_and_undoing_it_brings_the_item_back(
    feed_server, service_config, running_service
):
    """Filters are evaluated from the stored originals: the edit re-publishes without a fetch,
    and removing the filter shows the item again though upstream never sends it again."""
    config = service_config(feed_server.add("/wire.xml", WIRE, etag='"v1"'))
    service = running_service(config)
    service.wait_for(r"source=wire .*event=published")
    original = config.read_text(encoding="utf-8")

    def english_titles() -> list[str]:
        return [item["title"] for item in json.loads(service.get("/en/feed.json").text)["items"]]

    def filtered() -> int:
        rows = json.loads(service.get("/status.json").text)["sources"]
        return int(next(row["filtered"] for row in rows if row["id"] == "wire"))

    assert EN[WIRE_TITLE] in english_titles()
    for text, shown, count in (
        (original.replace(WIRE_SOURCE, WIRE_SOURCE + 'exclude = ["COMMERÇANTS"]\n'), False, 1),
        (original, True, 0),
    ):
        mark = len(service.log())
        config.write_text(text, encoding="utf-8")
        service.wait_for(r"event=config-reloaded", after=mark)
        service.wait_for(r"source=- .*event=published", after=mark)
        assert (EN[WIRE_TITLE] in english_titles()) is shown
        assert WIRE_TITLE not in english_titles()
        assert filtered() == count
    assert len(feed_server.requests_for("/wire.xml")) == 1, "nothing was fetched again"
    assert service.stop() == 0
