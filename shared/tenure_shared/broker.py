"""Kafka plumbing shared by the outbox relay and the consumer. Plain Kafka protocol only."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from tenure_shared.events import ALL_TOPICS, TOPIC_PARTITIONS
from tenure_shared.settings import ServiceSettings


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        request_timeout_ms=10_000,
    )


def make_admin(bootstrap_servers: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5_000)


async def ensure_topics(admin: AIOKafkaAdminClient, topics: tuple[str, ...] = ALL_TOPICS) -> None:
    """Create the topics explicitly: a misspelt name must not silently auto-create a topic."""
    existing = set(await admin.list_topics())
    missing = [NewTopic(t, TOPIC_PARTITIONS, 1) for t in topics if t not in existing]
    if not missing:
        return
    try:
        await admin.create_topics(missing)
    except TopicAlreadyExistsError:
        pass  # another service created them first


async def cluster_id(admin: AIOKafkaAdminClient) -> str:
    """The broker cluster's id. A new id means a new, empty log (see worker's broker watch)."""
    found: str = (await admin.describe_cluster())["cluster_id"]
    return found
