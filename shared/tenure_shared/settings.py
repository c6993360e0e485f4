"""Settings every service reads from the environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tenure_shared.db import service_database_url

SERVICE_PORTS = {
    "subscription": 8101,
    "invoicing": 8102,
    "dunning": 8103,
    "credit": 8104,
    "health-score": 8105,
    "notification": 8106,
}
# Every service, in one place (the test-clock coordinator, the dev stack and the tests use it).
SERVICES = tuple(SERVICE_PORTS)
DEV_API_KEY = "tenure_dev_key"
DEV_INTERNAL_TOKEN = "tenure_dev_internal_token"


class ServiceSettings(BaseSettings):
    """Environment of one service process. Every field has a dev default."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = Field(default="", validation_alias="TENURE_SERVICE")
    # "production" issues live API keys (tk_live_…); anything else test keys (tk_test_…).
    environment: str = Field(default="development", validation_alias="TENURE_ENV")
    # The PostgreSQL *server*; each service connects to its own database `tenure_<service>` on it.
    database_url: str = Field(default="postgresql+asyncpg://postgres@localhost:5432/postgres", validation_alias="DATABASE_URL")
    # Databases are named `<prefix><service>`; tests against an external server use their own prefix.
    database_prefix: str = Field(default="tenure_", validation_alias="TENURE_DATABASE_PREFIX")
    kafka_bootstrap_servers: str = Field(default="localhost:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # Tansu (the embedded broker) cannot do idempotent producers; real Kafka can.
    kafka_enable_idempotence: bool = Field(default=False, validation_alias="KAFKA_ENABLE_IDEMPOTENCE")
    api_key: str = Field(default=DEV_API_KEY, validation_alias="TENURE_API_KEY")
    read_only_api_key: str | None = Field(default=None, validation_alias="TENURE_READ_ONLY_API_KEY")
    internal_token: str = Field(default=DEV_INTERNAL_TOKEN, validation_alias="TENURE_INTERNAL_TOKEN")
    host: str = Field(default="127.0.0.1", validation_alias="TENURE_HOST")
    port: int | None = Field(default=None, validation_alias="TENURE_PORT")
    log_format: str = Field(default="console", validation_alias="LOG_FORMAT")
    log_level: str = Field(default="info", validation_alias="LOG_LEVEL")

    subscription_svc_url: str = Field(default="http://127.0.0.1:8101", validation_alias="SUBSCRIPTION_SVC_URL")
    invoicing_svc_url: str = Field(default="http://127.0.0.1:8102", validation_alias="INVOICING_SVC_URL")
    dunning_svc_url: str = Field(default="http://127.0.0.1:8103", validation_alias="DUNNING_SVC_URL")
    credit_svc_url: str = Field(default="http://127.0.0.1:8104", validation_alias="CREDIT_SVC_URL")
    health_score_svc_url: str = Field(default="http://127.0.0.1:8105", validation_alias="HEALTH_SCORE_SVC_URL")
    notification_svc_url: str = Field(default="http://127.0.0.1:8106", validation_alias="NOTIFICATION_SVC_URL")
    # Where customers' browsers reach subscription-svc (portal links); its internal URL if unset.
    subscription_public_url: str | None = Field(default=None, validation_alias="SUBSCRIPTION_PUBLIC_URL")

    # Per credential and per API process (see tenure_shared.rate_limit): generous, so that only a flood meets it.
    rate_limit_per_second: float = Field(default=200.0, gt=0, validation_alias="TENURE_RATE_LIMIT_PER_SECOND")
    rate_limit_burst: int = Field(default=400, ge=1, validation_alias="TENURE_RATE_LIMIT_BURST")

    # Worker loop timings: short in dev so test clocks settle quickly.
    # The relay wakes on an outbox notification; this is only its fallback poll.
    relay_poll_seconds: float = Field(default=1.0, validation_alias="RELAY_POLL_SECONDS")
    due_work_poll_seconds: float = Field(default=1.0, validation_alias="DUE_WORK_POLL_SECONDS")
    broker_check_seconds: float = Field(default=2.0, validation_alias="BROKER_CHECK_SECONDS")
    consumer_max_attempts: int = Field(default=3, validation_alias="CONSUMER_MAX_ATTEMPTS")
    # After the broker is found to have lost its log, outbox rows sent this recently are sent again.
    republish_window_hours: int = Field(default=24, validation_alias="REPUBLISH_WINDOW_HOURS")
    idempotency_key_hours: int = Field(default=24, validation_alias="IDEMPOTENCY_KEY_HOURS")

    def service_urls(self) -> dict[str, str]:
        """Internal base URL of every service, by service name."""
        return {
            "subscription": self.subscription_svc_url,
            "invoicing": self.invoicing_svc_url,
            "dunning": self.dunning_svc_url,
            "credit": self.credit_svc_url,
            "health-score": self.health_score_svc_url,
            "notification": self.notification_svc_url,
        }

    def portal_base_url(self) -> str:
        return (self.subscription_public_url or self.subscription_svc_url).rstrip("/")

    def service_database_url(self) -> str:
        """This service's own database on the configured server."""
        return service_database_url(self.database_url, self.service_name, self.database_prefix)

    def api_port(self) -> int:
        return self.port or SERVICE_PORTS[self.service_name]
