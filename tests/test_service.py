"""The running service (``lingofeed run`` in a subprocess, real HTTP): config edits under load.

A valid edit (a new source, a changed feed title) is applied without a restart; an invalid one
is logged with its file:line and the running config keeps serving.
"""

from __future__ import annotations

import json

from lingofeed.translations.testmodel import read_corpus

EN = dict(read_corpus())
WIRE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil</description>
<item><guid>https://wire.example.org/1</guid><link>https://wire.example.org/1</link>
<title>Les commer&#231;ants vendent du sel, du riz et des tissus.</title>
<pubDate>Mon, 15 Jan 2024 08:00:00 GMT</pubDate></item>
</channel></rss>"""
WIRE_TITLE = "Les commerçants vendent du sel, du riz et des tissus."
NEW_TITLE = "Les écoles ont rouvert leurs portes en octobre."
ARTICLE = f"""---
id: ecoles
title: {NEW_TITLE}
link: https://news.example.org/ecoles
published: 2024-02-01T08:00:00Z
language: fr
---
Le grand marché de Tombouctou est de nouveau animé.
"""
NEW_SOURCE = """
[[sources]]
id = "more"
directory = "more"
language = "fr"
every = "1h"
"""


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["title"] for item in json.loads(response.text)["items"]]


def test_config_edits_apply_when_valid_and_are_refused_with_their_line_when_not(
    feed_server, service_config, running_service
):
    config = service_config(feed_server.add("/wire.xml", WIRE, etag='"v1"'))
    service = running_service(config)
    service.wait_for(r"source=wire .*event=published")
    service.wait_for(r"source=articles .*event=published")
    assert EN[WIRE_TITLE] in _titles(service.get("/en/feed.json"))

    (config.parent / "more").mkdir()
    (config.parent / "more" / "ecoles.md").write_text(ARTICLE, encoding="utf-8")
    edited = config.read_text(encoding="utf-8").replace("News (English)", "World news") + NEW_SOURCE
    mark = len(service.log())
    config.write_text(edited, encoding="utf-8")
    service.wait_for(r"event=config-reloaded sources=3", after=mark)
    service.wait_for(r"source=more .*event=published", after=mark)
    english = json.loads(service.get("/en/feed.json").text)
    assert english["title"] == "World news"
    assert EN[NEW_TITLE] in [item["title"] for item in english["items"]]
    status = json.loads(service.get("/status.json").text)
    assert [source["id"] for source in status["sources"]] == ["articles", "wire", "more"]

    lines = edited.splitlines()
    bad_line = len(lines)  # the new source's `every`, the last line
    assert lines[-1] == 'every = "1h"'
    mark = len(service.log())
    head, _, tail = edited.rpartition('every = "1h"')
    config.write_text(head + 'every = "soon"' + tail, encoding="utf-8")
    rejected = service.wait_for(r"event=config-rejected problem=\"([^\"]*)\"", after=mark)
    assert rejected.group(1).startswith(f"{config}:{bad_line}: sources.2.every: bad interval")
    service.wait_for(r"event=config-kept", after=mark)
    assert "config-reloaded" not in service.log()[mark:]
    status = json.loads(service.get("/status.json").text)
    assert [source["id"] for source in status["sources"]] == ["articles", "wire", "more"]
    assert json.loads(service.get("/en/feed.json").text)["title"] == "World news"

    assert service.stop() == 0
    assert "event=stopped" in service.log()
