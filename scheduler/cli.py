"""The ``lingofeed`` command: run, once, check, status, models, sources, worker.

Errors print one line a newcomer can act on (``-v`` adds the traceback) and exit non-zero, so
scripts and cron notice. Long work shows a progress bar on a terminal and log lines otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lingofeed.feeds.errors import LingofeedError
from lingofeed.feeds.store.db import display_url
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.opml import import_sources
from lingofeed.scheduler.settings import ConfigError, Settings
from lingofeed.translations.errors import (
    ModelNotInstalledError,
    PackageIndexError,
    ReadOnlyModelsError,
    TranslationError,
)
from lingofeed.translations.models import PIVOT, InvalidPackageError, ModelStore

log = logging.getLogger("lingofeed")

DEFAULT_CONFIGS = (Path("config/lingofeed.toml"), Path("config/example.toml"))

_DESCRIPTION = """\
lingofeed turns articles (RSS/Atom/JSON feeds or article files) into translated feeds, one
family per language, with offline Argos Translate models.

Typical first steps:
  lingofeed check                      validate the config and show what would run
  lingofeed models install FILE.argosmodel   install a translation model
  lingofeed sources import FILE.opml   add the feeds of a subscription list to the config
  lingofeed once                       run every source once and publish
  lingofeed run                        keep running on schedule and serve the feeds
"""


def _version() -> str:
    try:
        return version("lingofeed")
    except PackageNotFoundError:
        return "dev"


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """``--config``, ``-v``, ``-q``: on the top-level parser with real defaults, and on every
    subcommand with ``SUPPRESS`` defaults, so they may also follow it and a value given after
    the subcommand wins without one given before being reset."""
    parser.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS if suppress else None,
        help="config file (default: config/lingofeed.toml, else config/example.toml)",
    )
    flag: object = argparse.SUPPRESS if suppress else False
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument(
        "-v", "--verbose", action="store_true", default=flag, help="debug logs and tracebacks"
    )
    noise.add_argument(
        "-q", "--quiet", action="store_true", default=flag, help="warnings and errors only"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lingofeed",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"lingofeed {_version()}")
    shared = argparse.ArgumentParser(add_help=False)
    _add_global_options(shared, suppress=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        parents=[shared],
        help="run sources on their schedules and serve feeds, /status and /metrics",
        description="Run until Ctrl-C or SIGTERM. Edits to the config file are applied "
        "without a restart; an invalid edit is logged and the running config is kept. "
        "Exit status 2 if the address to serve on is in use or not available.",
    )
    run.add_argument("--host", help="address to serve on (overrides the config's [server] host)")
    run.add_argument(
        "--port", type=int, help="port to serve on (overrides the config's [server] port)"
    )
    run.add_argument(
        "--distributed",
        action="store_true",
        help="with a PostgreSQL database: serve the feeds and keep the schedule only; "
        "`lingofeed worker` processes fetch, translate and publish (docs/scaling.md)",
    )
    worker = commands.add_parser(
        "worker",
        parents=[shared],
        help="run fetch, translation and publish jobs from the PostgreSQL job queue",
        description="Run jobs until Ctrl-C or SIGTERM (the job in progress finishes first). "
        "Queues: 'sources' (fetch and assemble), 'publish' (writes the output directory: "
        "run it where the feeds are served), 'tick' (the schedule), and one per language pair "
        "such as 'fr-en' (a worker loads only the models of its pairs). Needs "
        "[service] database_url = 'postgresql://...' (docs/scaling.md).",
    )
    worker.add_argument(
        "--queues",
        type=lambda text: [q.strip() for q in text.split(",") if q.strip()],
        help="comma-separated queues to take jobs from (default: all), e.g. fr-en,en-fr",
    )
    worker.add_argument("--name", help="the worker's name in logs (default: procrastinate's)")
    commands.add_parser(
        "once",
        parents=[shared],
        help="fetch, translate and publish every source once, then exit (for cron)",
        description="Exit status 1 if any source failed or any item could not be translated "
        "(everything else is still published). With [output] websub_hub, the hub is pinged for "
        "each changed feed at the end (up to 60 s, retries included); a hub that cannot be told "
        "is reported on stderr but does not fail the run.",
    )
    commands.add_parser(
        "check",
        parents=[shared],
        help="validate the config; list every problem with its line, or what would run",
    )
    commands.add_parser(
        "status", parents=[shared], help="show sources and languages from the database"
    )
    models = commands.add_parser(
        "models", parents=[shared], help="list, install or remove translation models"
    )
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser(
        "list", parents=[shared], help="installed packages and the language pairs they give"
    )
    install = actions.add_parser(
        "install",
        parents=[shared],
        help="install FROM TO from the package index, or one or more .argosmodel files",
        description="Examples: 'lingofeed models install fr en' (downloads from the index), "
        "'lingofeed models install translate-fr_en.argosmodel translate-en_fr.argosmodel' "
        "(offline, each file in turn).",
    )
    install.add_argument("what", nargs="+", metavar="FROM TO | FILE...")
    remove = actions.add_parser("remove", parents=[shared], help="remove the package for FROM TO")
    remove.add_argument("source", metavar="FROM")
    remove.add_argument("target", metavar="TO")
    for changing in (install, remove):
        changing.add_argument(
            "--write",
            action="store_true",
            help="change the models directory even if it is read-only to lingofeed: Argos "
            "Translate's own packages directory, or [models] read_only = true",
        )
    _add_sources_parser(commands, shared)
    return parser


def _add_sources_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], shared: argparse.ArgumentParser
) -> None:
    """``lingofeed sources import FILE.opml``."""
    sources = commands.add_parser(
        "sources", parents=[shared], help="add sources to the config (import an OPML list)"
    )
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import",
        parents=[shared],
        help="add one [[sources]] table per feed of an OPML subscription list",
        description="Adds one [[sources]] table per outline with an xmlUrl (nested outlines "
        "too) at the end of the config file, keeping everything else in it byte for byte. "
        "Ids come from the titles; feeds whose URL the config already has are skipped, so "
        "importing the same file again adds nothing. The result is validated like 'lingofeed "
        "check' and written only if valid (atomically); otherwise the file is left untouched "
        "and the problems are listed (exit status 1).",
    )
    importing.add_argument("opml", type=Path, metavar="FILE.opml", help="the OPML file")
    importing.add_argument(
        "--language", help="declared language of every added source (default: auto, detected)"
    )
    importing.add_argument(
        "--every", help="schedule of every added source, e.g. 30m (default: every 15m)"
    )


def find_config(given: Path | None) -> Path:
    if given is not None:
        return given
    return next((path for path in DEFAULT_CONFIGS if path.exists()), DEFAULT_CONFIGS[0])


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # procrastinate logs every job with its arguments (a translation job's are its sentences):
    # lingofeed's own event lines say what an operator needs, unless -v asks for everything.
    logging.getLogger("procrastinate").setLevel(level if args.verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args)
    try:
        settings = load_settings(find_config(args.config))
        return _dispatch(args, settings)
    except ConfigError as exc:
        print(f"lingofeed: {exc}", file=sys.stderr)
        return 2
    except (
        LingofeedError,
        TranslationError,
        PackageIndexError,
        InvalidPackageError,
        ReadOnlyModelsError,
        OSError,
    ) as exc:
        if args.verbose:
            log.exception("failed")
        print(f"lingofeed: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check":
        print(_describe(settings))
        return 0
    if args.command == "once":
        return _once(settings)
    if args.command == "sources":
        result = import_sources(
            settings.config_file, args.opml, language=args.language, every=args.every
        )
        print("\n".join(result.lines()))
        return 0
    # Imported here: the service pulls in the model runtime, which `check` and `--help` skip.
    from lingofeed.scheduler.service import Service, open_runtime
    from lingofeed.scheduler.status import as_text

    if args.command == "status":
        with open_runtime(settings, load_models=False) as runtime:
            print(as_text(runtime.status(settings, {})))
        return 0
    if args.command == "run":
        service = Service(
            settings.config_file, host=args.host, port=args.port, distributed=args.distributed
        )
        service.run(handle_signals=True)
        return 0
    if args.command == "worker":
        from lingofeed.scheduler.worker import run_worker

        run_worker(settings, args.queues, args.name)
        return 0
    return _models(settings, args)


def _models(settings: Settings, args: argparse.Namespace) -> int:
    """``models list|install|remove``: packages live in the config's ``[models] directory``."""
    writing = getattr(args, "write", False)
    store = ModelStore(
        settings.models.directory, read_only=False if writing else settings.models.read_only
    )
    if args.action == "list":
        print("\n".join(store.list_rows()))
        if (reason := store.read_only_reason()) is not None:
            print(f"(read-only: {reason})")
        return 0
    if args.action == "remove":
        removed = store.remove(args.source, args.target)
        print(f"removed {removed.from_code} -> {removed.to_code} ({removed.model_id})")
        return 0
    what: list[str] = args.what
    files = [_is_package_file(item) for item in what]
    if all(files):
        packages = [store.install_file(Path(item)) for item in what]
    elif len(what) == 2 and not any(files):
        packages = [store.install_from_index(what[0], what[1], settings.models.index_url)]
    else:
        print(
            "lingofeed: models install takes FROM TO (two language codes) or one or more "
            f"FILE.argosmodel, not {' '.join(what)!r}",
            file=sys.stderr,
        )
        return 2
    for package in packages:
        print(f"installed {package.from_code} -> {package.to_code} ({package.model_id})")
    return 0


def _is_package_file(argument: str) -> bool:
    """A package file rather than a language code: it exists, or it is named like a package."""
    return argument.endswith(".argosmodel") or Path(argument).is_file()


def _once(settings: Settings) -> int:
    from lingofeed.scheduler.cycle import run_cycle
    from lingofeed.scheduler.service import open_runtime
    from lingofeed.scheduler.websub import ONCE_WAIT_SECONDS

    with open_runtime(settings) as runtime:
        reports = run_cycle(runtime.context(settings))
        pings = runtime.websub.close(ONCE_WAIT_SECONDS)
    hub = settings.output.websub_hub
    for url in pings.failed:  # the hub is told again after the next change; not a failed run
        print(
            f"lingofeed: WebSub hub {hub} was not told about {url} (see the log)", file=sys.stderr
        )
    for url in pings.unsent:
        print(f"lingofeed: WebSub ping for {url} still unsent after {ONCE_WAIT_SECONDS:g}s; "
              f"given up", file=sys.stderr)  # fmt: skip
    failed = False
    for report in reports:
        if report.error:
            print(f"lingofeed: source {report.source_id!r} failed: {report.error}", file=sys.stderr)
        for problem in report.problems:
            print(f"lingofeed: source {report.source_id!r}: {problem}", file=sys.stderr)
        if report.filtered:
            items = "item" if report.filtered == 1 else "items"
            print(f"source {report.source_id!r}: {report.filtered} {items} filtered out")
        failed = failed or bool(report.error or report.problems)
    return 1 if failed else 0


def _describe(settings: Settings) -> str:
    """What ``check`` prints for a valid config: what would run, and what is missing."""
    store = ModelStore(settings.models.directory)
    lines = [f"{settings.config_file}: OK", "", "sources:"]
    for configured in settings.sources:
        source = configured.source
        language = source.language or "auto"
        full_text = ", full text" if source.full_text else ""
        lines.append(
            f"  {source.id}: {source.location} ({language}), {configured.schedule.describe()}"
            f"{full_text}"
        )
    lines += ["", "languages and models:"]
    for target in settings.language_codes:
        for src in _source_languages(settings, target):
            lines.append(f"  {src} -> {target}: {_route(store, src, target)}")
    broken = store.scan().broken
    if broken:
        lines += ["", "model problems (these pairs are unavailable):"]
        lines += [f"  {package.describe()}" for package in broken]
    lines += [
        "",
        f"output: {settings.output.directory} at {settings.output.base_url}",
        f"server: http://{settings.server.host}:{settings.server.port}/",
        f"database: {display_url(settings.database_url)}",
        f"checked at {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
    ]
    return "\n".join(lines)


def _route(store: ModelStore, src: str, target: str) -> str:
    """``installed (...)``, ``pivot fr -> en -> de (...)`` or ``MISSING: install with ...``."""
    try:
        steps = store.route(src, target)
    except ModelNotInstalledError:
        if store.scan().broken_for({(src, target), (src, PIVOT), (PIVOT, target)}):
            return "UNAVAILABLE: its package is broken (see model problems below)"
        return f"MISSING (install with: lingofeed models install {src} {target})"
    kind = "installed" if len(steps) == 1 else "pivot"
    return f"{kind} {store.describe_route(src, target)}"


def _source_languages(settings: Settings, target: str) -> list[str]:
    declared = {s.source.language for s in settings.sources if s.source.language}
    if any(s.source.language is None for s in settings.sources):
        declared |= set(settings.language_codes)
    return sorted(code for code in declared if code != target)


if __name__ == "__main__":
    sys.exit(main())
