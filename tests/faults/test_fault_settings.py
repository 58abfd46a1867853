"""Faults: bad settings must give one line on stderr naming the setting and what is expected,
exit status 2, and no traceback; new settings are read from the environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.settings import Settings, writable_dir
from tests.conftest import base_config, write_config

# Variables a developer's shell may set; every test starts without them.
CLEARED = (
    "MONITOR_DATABASE_URL",
    "MONITOR_TZ",
    "MONITOR_LOG_LEVEL",
    "MONITOR_HTTP_HOST",
    "MONITOR_HTTP_PORT",
    "MONITOR_SMTP_PORT",
    "MONITOR_SMTP_TLS",
    "MONITOR_ALLOW_PRIVATE_HOSTS",
)


def invoke(tmp_path: Path, *args: str, **env: str) -> Result:
    config = write_config(tmp_path / "sources.yaml", base_config())
    values: dict[str, str | None] = dict.fromkeys(CLEARED)
    values |= {
        "MONITOR_CONFIG": str(config),
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
    }
    return CliRunner().invoke(cli, list(args), env=values | env)


def assert_setting_error(result: Result, name: str, *expected: str) -> str:
    """Exit status 2, one line on stderr naming ``name`` (and ``expected``), no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]
    for fragment in expected:
        assert fragment in lines[0]
    return lines[0]


def regular_file(tmp_path: Path) -> Path:
    path = tmp_path / "file.txt"
    path.write_text("not a folder", encoding="utf-8")
    return path


# -- log level ----------------------------------------------------------------------------------


def test_bad_log_level_option(tmp_path: Path) -> None:
    result = invoke(tmp_path, "--log-level", "bogus", "status")
    assert_setting_error(result, "--log-level", "'bogus'", "DEBUG, INFO, WARNING, ERROR")


def test_bad_log_level_environment(tmp_path: Path) -> None:
    result = invoke(tmp_path, "status", MONITOR_LOG_LEVEL="bogus")
    assert_setting_error(result, "MONITOR_LOG_LEVEL", "'bogus'", "CRITICAL")


def test_log_level_in_any_case(tmp_path: Path) -> None:
    assert invoke(tmp_path, "--log-level", "debug", "sources", "check").exit_code == 0
    assert Settings.from_env({"MONITOR_LOG_LEVEL": "warning"}).log_level == "WARNING"
    assert Settings.from_env({}).log_level == "INFO"


# -- values of the environment ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "name", "value", "expected"),
    [
        ("digest", "MONITOR_TZ", "Mars/Base", "IANA time zone"),
        ("digest", "MONITOR_TZ", "../etc/passwd", "IANA time zone"),
        ("status", "MONITOR_DATABASE_URL", "bogus://x", "unknown database 'bogus'"),
        ("status", "MONITOR_DATABASE_URL", "not a url", "sqlite:///data/monitor.db"),
        ("status", "MONITOR_HTTP_PORT", "70000", "0 to 65535"),
        ("status", "MONITOR_HTTP_PORT", "abc", "0 to 65535"),
        ("status", "MONITOR_HTTP_PORT", "-1", "0 to 65535"),
        ("status", "MONITOR_SMTP_PORT", "65536", "0 to 65535"),
        ("status", "MONITOR_SMTP_PORT", "smtp", "0 to 65535"),
        ("status", "MONITOR_SMTP_PORT", "²", "0 to 65535"),
        ("status", "MONITOR_ALLOW_PRIVATE_HOSTS", "maybe", "IP address or network"),
    ],
)
def test_bad_environment_value(
    tmp_path: Path, command: str, name: str, value: str, expected: str
) -> None:
    result = invoke(tmp_path, command, **{name: value})
    assert_setting_error(result, name, expected)


def test_uninstalled_driver_is_named_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+pg8000://user:s3cret@db.example.org/monitor"
    result = invoke(tmp_path, "status", MONITOR_DATABASE_URL=url)
    line = assert_setting_error(result, "MONITOR_DATABASE_URL", "'pg8000' is not installed")
    assert "pip install 'monitor[postgres]'" in line and "s3cret" not in line


def test_postgresql_without_psycopg_gets_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    url = "postgresql+psycopg://user:pw@127.0.0.1/monitor"
    result = invoke(tmp_path, "db", "upgrade", MONITOR_DATABASE_URL=url)
    assert_setting_error(result, "MONITOR_DATABASE_URL", "pip install 'monitor[postgres]'")


def test_every_problem_on_its_own_line(tmp_path: Path) -> None:
    env = {"MONITOR_TZ": "Mars/Base", "MONITOR_HTTP_PORT": "x", "MONITOR_LOG_LEVEL": "loud"}
    result = invoke(tmp_path, "status", **env)
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 + len(env)
    for name in env:
        assert sum(name in line for line in lines) == 1


def test_from_env_reports_everything_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"MONITOR_SMTP_PORT": "99999", "MONITOR_DATABASE_URL": "x://"})
    assert [p.key for p in info.value.problems] == ["MONITOR_DATABASE_URL", "MONITOR_SMTP_PORT"]
    assert all(p.file == "environment" for p in info.value.problems)


def test_good_values_are_kept() -> None:
    settings = Settings.from_env(
        {
            "MONITOR_TZ": "Europe/London",
            "MONITOR_HTTP_PORT": "0",
            "MONITOR_SMTP_PORT": "2525",
            "MONITOR_DATABASE_URL": "postgresql+psycopg://u:pw@h/db",
        }
    )
    assert settings.timezone == "Europe/London" and settings.http_port == 0
    assert settings.smtp.port == 2525 and settings.database_url.startswith("postgresql")
    assert Settings.from_env({"MONITOR_SMTP_TLS": "ssl"}).smtp.port == 465


# -- new settings -------------------------------------------------------------------------------


def test_settings_construct_without_environment() -> None:
    settings = Settings()
    assert settings.allow_private_hosts is False and settings.http_host is None
    defaults = Settings.from_env({})
    assert defaults.allow_private_hosts is False and defaults.http_host is None
    assert defaults.http_port is None


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        *[(value, True) for value in ("1", "TRUE", "yes", "On")],
        *[(value, False) for value in ("0", "false", "no", "off", "")],
    ],
)
def test_allow_private_hosts(value: str, allowed: bool) -> None:
    settings = Settings.from_env({"MONITOR_ALLOW_PRIVATE_HOSTS": value})
    assert settings.allow_private_hosts is allowed


def test_allow_private_hosts_as_a_list_of_networks() -> None:
    settings = Settings.from_env({"MONITOR_ALLOW_PRIVATE_HOSTS": "10.20.0.0/16, 192.168.5.7"})
    assert settings.allow_private_hosts == ("10.20.0.0/16", "192.168.5.7")
    with pytest.raises(ConfigError, match="'intranet' is neither yes/no nor an IP address"):
        Settings.from_env({"MONITOR_ALLOW_PRIVATE_HOSTS": "10.0.0.0/8,intranet"})


def test_http_host() -> None:
    assert Settings.from_env({"MONITOR_HTTP_HOST": " 127.0.0.1 "}).http_host == "127.0.0.1"
    assert Settings.from_env({"MONITOR_HTTP_HOST": ""}).http_host is None


# -- folders ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("status",), ("db", "upgrade"), ("poll",), ("train",)])
def test_data_dir_under_a_file(tmp_path: Path, command: tuple[str, ...]) -> None:
    folder = regular_file(tmp_path) / "sub"
    result = invoke(tmp_path, *command, MONITOR_DATA_DIR=str(folder))
    assert_setting_error(result, "MONITOR_DATA_DIR", str(folder), "cannot be created")


def test_data_dir_is_a_file(tmp_path: Path) -> None:
    path = regular_file(tmp_path)
    result = invoke(tmp_path, "status", MONITOR_DATA_DIR=str(path))
    assert_setting_error(result, "MONITOR_DATA_DIR", "is not a folder")


def test_sqlite_url_under_a_file(tmp_path: Path) -> None:
    url = f"sqlite:///{regular_file(tmp_path) / 'sub' / 'monitor.db'}"
    result = invoke(tmp_path, "status", MONITOR_DATABASE_URL=url)
    assert_setting_error(result, "MONITOR_DATABASE_URL", "cannot be created")


@pytest.mark.parametrize("command", [("digest",), ("run", "--once")])
def test_digest_dir_under_a_file(tmp_path: Path, command: tuple[str, ...]) -> None:
    folder = regular_file(tmp_path) / "sub"
    result = invoke(tmp_path, *command, MONITOR_DIGEST_DIR=str(folder))
    assert_setting_error(result, "MONITOR_DIGEST_DIR", str(folder))
    assert not (tmp_path / "data" / "monitor.db").exists()  # failed before opening anything


def test_unwritable_folder_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: not mode & os.W_OK and real_access(p, mode))
    result = invoke(tmp_path, "run", "--once")
    assert result.exit_code == 2 and "Traceback" not in result.output
    problems = result.stderr.strip().splitlines()[1:]
    assert [line.split(": ")[1] for line in problems] == ["MONITOR_DATA_DIR", "MONITOR_DIGEST_DIR"]
    assert all("is not writable" in line for line in problems)


def test_writable_dir_creates_the_folder(tmp_path: Path) -> None:
    assert writable_dir(tmp_path / "a" / "b", "MONITOR_DATA_DIR") is None
    assert (tmp_path / "a" / "b").is_dir()


def test_commands_without_the_database_ignore_the_data_dir(tmp_path: Path) -> None:
    folder = regular_file(tmp_path) / "sub"
    result = invoke(tmp_path, "sources", "check", MONITOR_DATA_DIR=str(folder))
    assert result.exit_code == 0, result.output


# -- command-line values ------------------------------------------------------------------------


@pytest.mark.parametrize("folds", ["0", "1", "-3"])
def test_eval_needs_two_folds(tmp_path: Path, folds: str) -> None:
    examples = tmp_path / "examples.jsonl"
    examples.write_text('{"title": "a", "label": 1}\n', encoding="utf-8")
    args = ("eval", str(examples), "--cross-validate", "publisher", "--folds", folds)
    assert_setting_error(invoke(tmp_path, *args), "--folds", "at least 2")
