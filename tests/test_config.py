"""Config loading: a good file becomes Settings; each class of mistake is reported with its line."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from lingofeed.scheduler.config import ENGINE_KEYS, ConfigError, ConfigProblem, load_settings
from lingofeed.scheduler.tomllines import key_lines
from lingofeed.translations.engine import EngineSettings

REPO = Path(__file__).resolve().parent.parent

GOOD = """\
[service]
data_dir = "data"
retention_days = 7

[models]
directory = "models"

[output]
directory = "public"
base_url = "https://feeds.example.org/lingo"
item_limit = 20

[server]
port = 8181

[engine]
beam_size = 1

[languages.en]
title = "News"

[languages.pt-BR]
title = "Notícias"

[[sources]]
id = "articles"
directory = "articles"
language = "fr"
cron = "*/5 * * * *"

[[sources]]
id = "wire"
url = "https://wire.example.org/feed.xml"
every = "1h30m"
item_limit = 10

[glossary.fr-en]
terms = { "Tombouctou" = "Timbuktu" }
protected = ["MINUSMA"]

[partners.acme]
token = "0123456789abcdef0123"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "articles").mkdir(exist_ok=True)
    path = tmp_path / "lingofeed.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    return list(info.value.problems)


def only(tmp_path: Path, text: str) -> ConfigProblem:
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    return found[0]


def test_good_config_becomes_settings_with_paths_relative_to_the_file(tmp_path):
    settings = load_settings(write(tmp_path, GOOD), environ={})
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'lingofeed.sqlite'}"
    assert settings.models.directory == tmp_path / "models"
    assert settings.output.base_url == "https://feeds.example.org/lingo/"
    assert settings.language_codes == ("en", "pt-BR")
    articles, wire = settings.sources
    assert articles.source.directory == tmp_path / "articles"
    assert articles.source.language == "fr"
    assert articles.schedule.cron == "*/5 * * * *"
    assert wire.schedule.every == timedelta(hours=1, minutes=30)
    assert wire.source.language is None and wire.source.item_limit == 10
    glossary = settings.glossary("fr", "en")
    assert glossary is not None and glossary.terms == (("Tombouctou", "Timbuktu"),)
    assert settings.engine.beam_size == 1 and settings.engine.inter_threads == 2
    assert settings.retention_days == 7 and settings.server.port == 8181


def test_bundled_example_config_is_valid():
    settings = load_settings(REPO / "config" / "example.toml", environ={})
    assert settings.language_codes == ("en", "fr")
    assert settings.sources[0].source.directory == REPO / "config" / "sample" / "articles"


def test_environment_supplies_secrets(tmp_path):
    environ = {
        "LINGOFEED_DATABASE_URL": "postgresql://lingo:secret@db/lingo",
        "LINGOFEED_PARTNER_ACME_TOKEN": "from-the-environment-0001",
    }
    settings = load_settings(write(tmp_path, GOOD), environ=environ)
    assert settings.database_url == "postgresql://lingo:secret@db/lingo"
    assert settings.partners[0].token == "from-the-environment-0001"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://lingo:s3cret-pw@db/lingo", "in sqlite or postgresql, not mysql"),
        ("postgresql://lingo:s3cret-pw@db:port/lingo", "not a database URL"),
    ],
    ids=["other-backend", "bad-port"],
)
def test_an_unusable_database_url_is_reported_at_its_line_without_the_password(
    tmp_path, url, message
):
    problem = only(
        tmp_path, GOOD.replace('data_dir = "data"', f'data_dir = "data"\ndatabase_url = "{url}"')
    )
    assert (problem.line, problem.key_path) == (3, "service.database_url")
    assert message in problem.message and "s3cret-pw" not in str(problem)


def test_a_source_id_longer_than_the_database_holds_is_reported(tmp_path):
    """PostgreSQL enforces the column's length (SQLite would not): the config says so first."""
    text = GOOD.replace('id = "wire"', f'id = "{"w" * 201}"')
    assert text != GOOD
    problem = only(tmp_path, text)
    assert problem.key_path == "sources.1.id" and "at most 200 characters" in problem.message


def test_toml_syntax_error_reports_tomllib_line(tmp_path):
    problem = only(tmp_path, GOOD.replace("port = 8181", "port = = 8181"))
    assert problem.line == 14
    assert "TOML syntax error" in problem.message


def test_unknown_key_is_reported_at_its_line(tmp_path):
    problem = only(tmp_path, GOOD.replace("port = 8181", 'port = 8181\nhots = "x"'))
    assert (problem.line, problem.key_path) == (15, "server.hots")
    assert "unknown key 'hots'" in problem.message


def test_wrong_type_is_reported_with_key_path(tmp_path):
    problem = only(tmp_path, GOOD.replace("item_limit = 10", 'item_limit = "ten"'))
    assert (problem.line, problem.key_path) == (35, "sources.1.item_limit")
    assert "must be int, not a string" in problem.message


def test_bad_language_codes_are_reported(tmp_path):
    text = GOOD.replace("[languages.pt-BR]", "[languages.english]").replace(
        'language = "fr"', 'language = "xx"'
    )
    found = {(p.line, p.key_path) for p in problems(tmp_path, text)}
    assert found == {(22, "languages.english"), (28, "sources.0.language")}


def test_bad_cron_expression_is_reported(tmp_path):
    problem = only(tmp_path, GOOD.replace("*/5 * * * *", "61 * * * *"))
    assert (problem.line, problem.key_path) == (29, "sources.0.cron")
    assert "bad cron expression" in problem.message


@pytest.mark.parametrize("interval", ["soon", "0m", "15", "-5m", "1.5h"])
def test_bad_interval_is_reported(tmp_path, interval):
    problem = only(tmp_path, GOOD.replace('"1h30m"', f'"{interval}"'))
    assert (problem.line, problem.key_path) == (34, "sources.1.every")


def test_missing_directory_source_is_reported(tmp_path):
    problem = only(tmp_path, GOOD.replace('directory = "articles"', 'directory = "nowhere"'))
    assert (problem.line, problem.key_path) == (27, "sources.0.directory")
    assert "is not a directory" in problem.message


def test_output_directory_that_cannot_be_created_is_reported(tmp_path):
    (tmp_path / "a-file").write_text("x")
    problem = only(tmp_path, GOOD.replace('directory = "public"', 'directory = "a-file/public"'))
    assert (problem.line, problem.key_path) == (9, "output.directory")


def test_duplicate_source_ids_are_reported(tmp_path):
    problem = only(tmp_path, GOOD.replace('id = "wire"', 'id = "articles"'))
    assert (problem.line, problem.key_path) == (32, "sources.1.id")
    assert "duplicate source id 'articles'" in problem.message


def test_source_needs_exactly_one_of_url_and_directory(tmp_path):
    text = GOOD.replace(
        'url = "https://wire.example.org/feed.xml"', 'directory = "articles"\nurl = "x"'
    )
    found = [(p.key_path, p.message) for p in problems(tmp_path, text)]
    assert ("sources.1.url", "'x' is not an http(s) URL") in found
    assert ("sources.1", "give exactly one of 'url' or 'directory'") in found


def test_missing_required_keys_name_their_table(tmp_path):
    problem = only(tmp_path, GOOD.replace('base_url = "https://feeds.example.org/lingo"', ""))
    assert (problem.line, problem.key_path) == (8, "output.base_url")
    assert problem.message == "is required"


def test_all_errors_are_reported_at_once_in_line_order(tmp_path):
    text = (
        GOOD.replace("port = 8181", "port = 99999")
        .replace("beam_size = 1", "beam_size = 0")
        .replace('"Timbuktu"', "3")
        .replace("[glossary.fr-en]", "[glossary.fr-klingon]")
    )
    found = problems(tmp_path, text)
    assert [(p.line, p.key_path) for p in found] == [
        (14, "server.port"),
        (17, "engine.beam_size"),
        (37, "glossary.fr-klingon"),
        (38, "glossary.fr-klingon.terms.Tombouctou"),
    ]
    message = str(ConfigError(found))
    assert message.startswith("4 problems in config")
    assert f"{tmp_path / 'lingofeed.toml'}:14: server.port: 99999 is not a TCP port" in message


def test_short_partner_token_is_rejected(tmp_path):
    problem = only(tmp_path, GOOD.replace('"0123456789abcdef0123"', '"short"'))
    assert (problem.line, problem.key_path) == (42, "partners.acme.token")


def test_unreadable_file_is_one_problem(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_key_lines_follow_arrays_of_tables_and_skip_multiline_values():
    text = '''\
[[sources]]
id = "a"
[[sources]]
"quoted.key" = 1
notes = """
fake = 2
"""
list = [
  "x = 3",
]
[tables.'x.y'] # comment
after = 4
'''
    assert key_lines(text) == {
        ("sources", 0): 1,
        ("sources", 0, "id"): 2,
        ("sources", 1): 3,
        ("sources", 1, "quoted.key"): 4,
        ("sources", 1, "notes"): 5,
        ("sources", 1, "list"): 8,
        ("tables", "x.y"): 11,
        ("tables", "x.y", "after"): 12,
    }


@pytest.mark.parametrize(
    ("notice", "message"),
    [
        ("Translated to {lang}", "unknown placeholder {lang} (use {language} or {link})"),
        ("From {language:>9}", "unknown placeholder {language:>9} (use {language} or {link})"),
        ("From {language", "malformed template (expected '}' before end of string;"),
        ("Lone } brace", "malformed template (Single '}' encountered"),
    ],
)
def test_notice_with_a_placeholder_notice_html_does_not_fill_is_reported(tmp_path, notice, message):
    for key in ("notice", "notice_partial"):
        text = GOOD.replace('title = "News"', f'title = "News"\n{key} = "{notice}"')
        problem = only(tmp_path, text)
        assert (problem.line, problem.key_path) == (21, f"languages.en.{key}")
        assert problem.message.startswith(message), problem.message


def test_notice_with_language_and_link_placeholders_is_accepted(tmp_path):
    text = GOOD.replace('title = "News"', 'title = "News"\nnotice = "From {language}: {link}"')
    assert load_settings(write(tmp_path, text), environ={}).languages[0].notice == (
        "From {language}: {link}"
    )


def test_documented_engine_defaults_are_the_ones_the_engine_runs(tmp_path):
    """One ``EngineSettings`` and one set of defaults: the full example documents every
    ``[engine]`` key with the value a config without ``[engine]`` gets."""
    example = REPO / "config" / "lingofeed.example-full.toml"
    documented = tomllib.loads(example.read_text(encoding="utf-8"))["engine"]
    assert set(documented) == set(ENGINE_KEYS)
    defaults = EngineSettings()
    assert {key: getattr(defaults, name) for key, name in ENGINE_KEYS.items()} == documented
    assert load_settings(example, environ={}).engine == defaults
    without = load_settings(write(tmp_path, GOOD.replace("beam_size = 1\n", "")), environ={})
    assert without.engine == defaults


def test_engine_device_and_compute_type_reach_the_settings(tmp_path):
    text = GOOD.replace("beam_size = 1\n", 'device = "cpu"\ncompute_type = "int8_float32"\n')
    engine = load_settings(write(tmp_path, text), environ={}).engine
    assert (engine.device, engine.compute_type) == ("cpu", "int8_float32")


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ('device = "gpu"', "engine.device", "'gpu' is not one of auto, cpu, cuda"),
        ('compute_type = "int4"', "engine.compute_type", "'int4' is not one of default, auto,"),
        ('compute_type = "float16"', "engine.compute_type", "'float16' does not run on device"),
    ],
)
def test_an_engine_device_or_compute_type_that_cannot_run_is_reported_at_its_line(
    tmp_path, line, key, message
):
    problem = only(tmp_path, GOOD.replace("beam_size = 1", f"beam_size = 1\n{line}"))
    assert (problem.line, problem.key_path) == (18, key)
    assert problem.message.startswith(message)


def test_cuda_where_ctranslate2_sees_no_gpu_is_one_problem_naming_the_setting(tmp_path):
    """There is no GPU here: asking for one fails at load, at its line, not in every batch."""
    problem = only(tmp_path, GOOD.replace("beam_size = 1", 'beam_size = 1\ndevice = "cuda"'))
    assert (problem.line, problem.key_path) == (18, "engine.device")
    assert problem.message.startswith('"cuda", but CTranslate2 sees no CUDA device')
    assert 'use "auto"' in problem.message


def test_full_text_and_private_addresses_are_off_unless_asked_and_must_be_booleans(tmp_path):
    settings = load_settings(write(tmp_path, GOOD), environ={})
    assert not settings.allow_private_addresses
    assert not any(s.source.full_text for s in settings.sources)
    asked = GOOD.replace("retention_days = 7", "retention_days = 7\nallow_private_addresses = true")
    asked = asked.replace("item_limit = 10", "item_limit = 10\nfull_text = true")
    settings = load_settings(write(tmp_path, asked), environ={})
    assert settings.allow_private_addresses and settings.sources[1].source.full_text
    problem = only(tmp_path, GOOD.replace("item_limit = 10", 'item_limit = 10\nfull_text = "yes"'))
    assert (problem.key_path, problem.message) == (
        "sources.1.full_text",
        "must be bool, not a string",
    )


def test_the_full_example_documents_full_text_and_parses():
    example = REPO / "config" / "lingofeed.example-full.toml"
    text = example.read_text(encoding="utf-8")
    assert "\nfull_text = false" in text and "\nallow_private_addresses = false" in text
    load_settings(example, environ={})
