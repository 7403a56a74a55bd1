"""The `sixty` command: argument parsing, the worker's guard, and migrations run as a real process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from sixty import cli
from sixty.core import migrate
from sixty.core.config import JobsBackend, Settings


@pytest.fixture
def parser_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)


@pytest.mark.usefixtures("parser_environment")
def test_parse_serve_with_options() -> None:
    args = cli.build_parser().parse_args(["serve", "--port", "9000", "--no-migrate"])
    assert args.command == "serve"
    assert args.port == 9000
    assert args.migrate is False
    assert args.host == "127.0.0.1"
    assert args.workers == 1
    assert args.reload is False
    assert args.handler is cli._serve


@pytest.mark.usefixtures("parser_environment")
def test_parse_serve_defaults_migrate_and_reads_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "192.0.2.1")
    monkeypatch.setenv("PORT", "8123")
    args = cli.build_parser().parse_args(["serve", "--workers", "4", "--reload"])
    assert (args.host, args.port, args.workers, args.reload, args.migrate) == (
        "192.0.2.1",
        8123,
        4,
        True,
        True,
    )


def test_parse_migrate_defaults_to_head() -> None:
    args = cli.build_parser().parse_args(["migrate"])
    assert args.command == "migrate"
    assert args.revision == "head"
    assert args.handler is cli._migrate


@pytest.mark.parametrize("revision", ["-1", "base", "0001"])
def test_parse_migrate_to_a_revision(revision: str) -> None:
    assert cli.build_parser().parse_args(["migrate", revision]).revision == revision


def test_parse_worker() -> None:
    args = cli.build_parser().parse_args(["worker"])
    assert args.command == "worker"
    assert args.handler is cli._worker


@pytest.mark.usefixtures("parser_environment")
def test_serve_hands_uvicorn_the_app_and_asyncio_loop(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    cli._serve(cli.build_parser().parse_args(["serve", "--no-migrate", "--port", "9001"]), settings)
    assert seen["app"] == "sixty.asgi:app"
    assert seen["port"] == 9001
    assert seen["loop"] == "asyncio"  # see cli.EVENT_LOOP: uvloop admitted new connections one by one
    assert seen["proxy_headers"] is True


@pytest.mark.parametrize("argv", [[], ["unknown"], ["serve", "--port", "eighty"]])
def test_parse_refuses_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.build_parser().parse_args(argv)
    assert raised.value.code == 2
    assert "usage: sixty" in capsys.readouterr().err


def test_worker_refuses_the_memory_backend() -> None:
    settings = Settings(jobs_backend=JobsBackend.memory, _env_file=None)
    args = cli.build_parser().parse_args(["worker"])
    with pytest.raises(SystemExit) as raised:
        args.handler(args, settings)
    assert "SIXTY_JOBS_BACKEND" in str(raised.value.code)


def run_sixty(*argv: str, data_dir: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`python -m sixty.cli ...` in a clean environment: no SIXTY_* variable but the given ones."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SIXTY_")}
    env.update({"SIXTY_DATA_DIR": str(data_dir), "SIXTY_ENV": "development", **extra_env})
    return subprocess.run(
        [sys.executable, "-m", "sixty.cli", *argv],
        env=env,
        cwd=data_dir,  # no stray .env file
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def alembic_versions(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [version for (version,) in connection.execute("SELECT version_num FROM alembic_version")]


def test_sixty_worker_process_refuses_the_memory_backend(tmp_path: Path) -> None:
    result = run_sixty("worker", data_dir=tmp_path)
    assert result.returncode == 1
    assert "SIXTY_JOBS_BACKEND" in result.stderr


def revisions_newest_first() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config(Settings(_env_file=None)))
    return [revision.revision for revision in script.walk_revisions()]


def test_sixty_migrate_upgrades_and_downgrades_a_sqlite_database(tmp_path: Path) -> None:
    database = tmp_path / "sixty.db"
    history = revisions_newest_first()
    assert history[-2:] == ["0002", "0001"]

    upgraded = run_sixty("migrate", data_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert database.is_file()
    assert {"note", "job", "mail_outbox", "alembic_version"} <= tables(database)
    assert alembic_versions(database) == history[:1]

    # Step back one revision at a time: every downgrade() runs, and the last leaves nothing.
    for below in [*history[1:], None]:
        downgraded = run_sixty("migrate", "-1", data_dir=tmp_path)
        assert downgraded.returncode == 0, downgraded.stderr
        assert alembic_versions(database) == ([below] if below else [])
    assert tables(database) == {"alembic_version"}

    restored = run_sixty("migrate", "head", data_dir=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert {"note", "job", "mail_outbox"} <= tables(database)
    assert alembic_versions(database) == history[:1]


def test_sixty_migrate_refuses_a_default_secret_in_production(tmp_path: Path) -> None:
    result = run_sixty("migrate", data_dir=tmp_path, SIXTY_ENV="production")
    assert result.returncode != 0
    assert "SIXTY_SECRET_KEY" in result.stderr
    assert not (tmp_path / "sixty.db").exists()
