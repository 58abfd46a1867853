"""What can be checked of the container set-up without a Docker engine."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

from monitor.settings import Settings
from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SETTINGS_SOURCE = (ROOT / "monitor" / "settings.py").read_text(encoding="utf-8")
# the monitor services: `monitor`, and `monitor-2` under the "scale" profile
INSTANCES = {
    name: service
    for name, service in COMPOSE["services"].items()
    if "MONITOR_DATABASE_URL" in service.get("environment", {})
}


def test_dockerfile_runs_the_service_as_non_root_with_volumes() -> None:
    assert re.search(r"^FROM python:3\.11-slim", DOCKERFILE, re.M)
    assert re.search(r"^USER monitor$", DOCKERFILE, re.M)
    assert 'VOLUME ["/app/data", "/app/digests"]' in DOCKERFILE
    assert 'CMD ["monitor", "run"]' in DOCKERFILE
    assert 'pip install --no-cache-dir ".[postgres]"' in DOCKERFILE
    for copied in re.findall(r"^COPY (\S+)", DOCKERFILE, re.M):
        assert (ROOT / copied).exists(), copied


def healthcheck_command() -> list[str]:
    match = re.search(r"^HEALTHCHECK .*?\\\n\s+CMD (\[[^\n]*\])$", DOCKERFILE, re.M | re.S)
    assert match, "no HEALTHCHECK with an exec-form CMD"
    command = json.loads(match.group(1))
    return [sys.executable if part == "python" else part for part in command]


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
def test_healthcheck_command_follows_healthz(status: int, exit_code: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    try:
        server = HTTPServer(("127.0.0.1", 8080), Handler)
    except OSError:
        pytest.skip("port 8080 is taken on this machine")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = subprocess.run(healthcheck_command(), capture_output=True, timeout=30)
        assert result.returncode == exit_code, result.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_compose_settings_are_ones_monitor_reads() -> None:
    env = COMPOSE["services"]["monitor"]["environment"]
    for name in env:
        assert f'"{name}"' in SETTINGS_SOURCE, f"{name} is not read by monitor/settings.py"
    settings = Settings.from_env({k: str(v) for k, v in env.items()})
    assert settings.db_url.startswith("postgresql+psycopg://monitor:monitor@db:5432/")
    assert settings.smtp.host == "mail" and settings.smtp.port == 1025
    assert settings.smtp.tls == "none" and settings.digest_to == ("editors@example.org",)
    assert settings.alert_to == ("maintainers@example.org",) and settings.http_port == 8080


def test_compose_wiring() -> None:
    services = COMPOSE["services"]
    assert services["monitor"]["depends_on"]["db"]["condition"] == "service_healthy"
    db = services["db"]["environment"]
    url = services["monitor"]["environment"]["MONITOR_DATABASE_URL"]
    assert f"{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db:5432/{db['POSTGRES_DB']}" in url
    assert services["monitor"]["environment"]["MONITOR_SMTP_HOST"] == "mail"
    assert "/app/digests" in " ".join(services["monitor"]["volumes"])
    # the grace period outlasts monitor's own shutdown timeout (30 s by default)
    assert int(services["monitor"]["stop_grace_period"].rstrip("s")) > 30
    assert (
        shlex.split("pg_isready -U monitor -d monitor")
        == services["db"]["healthcheck"]["test"][1].split()
    )


def test_compose_second_instance_shares_the_database_under_its_own_name() -> None:
    # docs/deployment.md, "Several instances": `docker compose --profile scale up -d`
    assert sorted(INSTANCES) == ["monitor", "monitor-2"]
    first, second = INSTANCES["monitor"], INSTANCES["monitor-2"]
    assert "profiles" not in first and second["profiles"] == ["scale"]
    assert second["build"] == first["build"] and second["volumes"] == first["volumes"]
    env = {name: service["environment"] for name, service in INSTANCES.items()}
    for values in env.values():
        for name in values:
            assert f'"{name}"' in SETTINGS_SOURCE, f"{name} is not read by monitor/settings.py"
    # everything the same but the name: one database, one mail server, one configuration
    assert {k: v for k, v in env["monitor"].items() if k != "MONITOR_INSTANCE"} == {
        k: v for k, v in env["monitor-2"].items() if k != "MONITOR_INSTANCE"
    }
    settings = {
        name: Settings.from_env({k: str(v) for k, v in e.items()}) for name, e in env.items()
    }
    assert settings["monitor-2"].db_url == settings["monitor"].db_url
    assert settings["monitor-2"].db_url.startswith("postgresql+psycopg://")
    # unique and stable (spelled out, not the default host:pid nor a variable)
    names = [values.get("MONITOR_INSTANCE") for values in env.values()]
    assert all(names) and len(set(names)) == len(names)
    assert all(re.fullmatch(r"[\w.-]+", str(name)) for name in names), names
    assert [s.instance for s in settings.values()] == names
    for service in INSTANCES.values():
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert int(service["stop_grace_period"].rstrip("s")) > 30
    host_ports = [port.split(":")[0] for service in INSTANCES.values() for port in service["ports"]]
    assert len(set(host_ports)) == len(host_ports)
