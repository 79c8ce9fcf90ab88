"""Every command on PostgreSQL, as an operator runs them: ``LINGOFEED_DATABASE_URL`` with a
password, ``check``, ``once``, ``status``, ``models list`` and ``run`` as subprocesses.

The password never shows in any output, the rows land in PostgreSQL (no SQLite file appears),
and a database that cannot be reached is one line naming it, exit status 1, no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from lingofeed.feeds.store.db import open_engine
from tests.fixtures.feeds import FeedServer
from tests.fixtures.service import RunningService, lingofeed, make_service_folder

pytestmark = pytest.mark.postgres

PASSWORD = "s3cret-pw"
WIRE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil</description><language>fr</language>
<item><guid>https://wire.example.org/1</guid><link>https://wire.example.org/1</link>
<title>Le drapeau des Nations unies est descendu au camp de Tombouctou.</title>
<pubDate>Mon, 15 Jan 2024 08:00:00 GMT</pubDate></item>
</channel></rss>"""


def _with_password(url: str) -> str:
    """``url`` with a password (the test cluster trusts 127.0.0.1, so any password opens it)."""
    return sa.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def _articles(url: str) -> int:
    engine = open_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM articles")).scalar_one()
    engine.dispose()
    return int(count)


def test_every_command_runs_on_postgresql_and_never_shows_its_password(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LINGOFEED_DATABASE_URL", _with_password(postgres_url))
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", WIRE))
    outputs = {}
    for command in (["check"], ["once"], ["status"], ["models", "list"]):
        done = lingofeed("--config", str(config), *command, cwd=tmp_path)
        assert done.returncode == 0, (command, done.stderr)
        outputs[command[0]] = done.stdout + done.stderr
    assert [name for name, out in outputs.items() if PASSWORD in out] == []
    assert "database: postgresql://postgres:***@127.0.0.1" in outputs["check"]
    assert "wire" in outputs["status"] and "articles" in outputs["status"]
    assert _articles(postgres_url) == 4  # one wire item, three sample articles
    assert not (tmp_path / "data" / "lingofeed.sqlite").exists()

    service = RunningService(config)
    try:
        service.wait_for(r"source=wire .*event=published")
        status = service.get("/status.json")
        assert status.status_code == 200 and PASSWORD not in status.text
    finally:
        assert service.stop() == 0
    assert PASSWORD not in service.log()


def test_an_unreachable_postgresql_is_one_line_without_the_password(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(
        "LINGOFEED_DATABASE_URL", f"postgresql://lingo:{PASSWORD}@127.0.0.1:9/lingofeed"
    )
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", WIRE))
    done = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert done.returncode == 1
    assert "lingofeed: error: cannot open schema" in done.stderr
    assert "lingo:***@127.0.0.1:9/lingofeed" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout and "Traceback" not in done.stderr
