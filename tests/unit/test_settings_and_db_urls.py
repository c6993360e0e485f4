"""Settings come from the environment; each service gets its own database on the configured server."""

from sqlalchemy.engine import make_url

from tenure_shared.db import database_name, service_database_url
from tenure_shared.settings import ServiceSettings


def test_each_service_has_its_own_database_on_the_server():
    assert database_name("health-score") == "tenure_health_score"
    url = service_database_url("postgresql+asyncpg://tenure:secret@db:5432/postgres", "invoicing")
    assert url == "postgresql+asyncpg://tenure:secret@db:5432/tenure_invoicing"


def test_unix_socket_urls_keep_their_host_directory():
    url = make_url(service_database_url("postgresql+asyncpg://postgres@/postgres?host=/srv/pg", "dunning", "tenure_test_"))
    assert (url.database, url.query["host"], url.host) == ("tenure_test_dunning", "/srv/pg", None)


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@h:5/postgres")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("TENURE_API_KEY", "k")
    monkeypatch.setenv("KAFKA_ENABLE_IDEMPOTENCE", "true")
    settings = ServiceSettings().model_copy(update={"service_name": "credit"})
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.kafka_enable_idempotence is True
    assert settings.api_key == "k"
    assert settings.service_database_url() == "postgresql+asyncpg://u:p@h:5/tenure_credit"
    assert settings.api_port() == 8104
