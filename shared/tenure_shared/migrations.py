"""The mechanism tables every service database has (outbox, inbox, offsets, due work, clock times,
idempotency keys, broker state), as explicit alembic operations each service's first migration calls.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

TZ = sa.DateTime(timezone=True)


def create_mechanism_tables() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.String, nullable=False, unique=True),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("event_type", sa.String, nullable=False),
        sa.Column("clock_id", sa.String, index=True),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", TZ),
    )
    op.create_index("ix_outbox_unsent", "outbox_messages", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "inbox_events",
        sa.Column("event_id", sa.String, primary_key=True),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("event_type", sa.String, nullable=False),
        sa.Column("clock_id", sa.String, index=True),
        sa.Column("outcome", sa.String, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("received_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "consumer_offsets",
        sa.Column("topic", sa.String, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("due_at", TZ, nullable=False, index=True),
        sa.Column("clock_id", sa.String, index=True),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_index(
        "uq_scheduled_jobs_pending_key",
        "scheduled_jobs",
        ["key"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "test_clock_times",
        sa.Column("clock_id", sa.String, primary_key=True),
        sa.Column("now", TZ, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("request_hash", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.LargeBinary),
        sa.Column("response_content_type", sa.String),
        sa.Column("locked_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now(), index=True),
    )
    op.create_table(
        "broker_state",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("cluster_id", sa.String, nullable=False),
    )


def create_number_sequences(*, replacing: str | None = None) -> None:
    """The gapless-number counters (`tenure_shared.numbering`); `replacing` names an older
    per-service counter table whose values move over and which is then dropped."""
    op.create_table(
        "number_sequences",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
    )
    if replacing:
        op.execute(f"INSERT INTO number_sequences (name, last_value) SELECT name, last_value FROM {replacing}")
        op.drop_table(replacing)


def add_customer_version() -> None:
    """`customer_accounts.version`: a service's copy of a customer keeps the newest version."""
    op.add_column("customer_accounts", sa.Column("version", sa.Integer, nullable=False, server_default="0"))


def add_failure_tracking() -> None:
    """Dead letters keep their envelope (for replay) and when they died; due jobs wait out a back-off."""
    op.add_column("inbox_events", sa.Column("envelope", JSONB))
    op.add_column("inbox_events", sa.Column("dead_lettered_at", TZ))
    op.create_index(
        "ix_inbox_events_dead_letters",
        "inbox_events",
        ["outcome", "dead_lettered_at"],
        postgresql_where=sa.text("dead_lettered_at IS NOT NULL"),
    )
    op.add_column("scheduled_jobs", sa.Column("next_attempt_at", TZ))
    op.create_index("ix_scheduled_jobs_status", "scheduled_jobs", ["status", "due_at"])


def add_worker_leases() -> None:
    """Every worker active: `leases` and `workers` (`tenure_shared.leases`), the outbox's shard
    (`tenure_shared.outbox`), unsent rows found per shard in id order; the high-water marks the
    consumers saw (consumer lag in the ops view)."""
    op.create_table(
        "partition_high_water",
        sa.Column("topic", sa.String, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("high_water", sa.BigInteger, nullable=False),
        sa.Column("seen_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "leases",
        sa.Column("resource", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("owner", sa.String),
        sa.Column("epoch", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("expires_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("started_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.add_column("outbox_messages", sa.Column("shard", sa.SmallInteger, nullable=False, server_default="0"))
    from tenure_shared.outbox import outbox_shard

    connection = op.get_bind()
    unsent = connection.execute(sa.text("SELECT id, key FROM outbox_messages WHERE published_at IS NULL")).all()
    set_shard = sa.text("UPDATE outbox_messages SET shard = :shard WHERE id = :id")
    for row_id, key in unsent:
        connection.execute(set_shard, {"shard": outbox_shard(key), "id": row_id})
    op.drop_index("ix_outbox_unsent", table_name="outbox_messages")
    op.create_index("ix_outbox_unsent", "outbox_messages", ["shard", "id"], postgresql_where=sa.text("published_at IS NULL"))


def add_worker_wants() -> None:
    """`workers.wants`: the resources each worker can work on, from which every worker works out
    the same assignment (`tenure_shared.leases.assign`)."""
    op.add_column("workers", sa.Column("wants", JSONB))


def add_test_clock_counters() -> None:
    """Per-clock counters of produced, sent and consumed events (`tenure_shared.test_clock_sync`):
    statement-level triggers on the outbox and the inbox write a delta per clock and topic in the
    writing transaction; the counts route folds them into the totals. Seeded from the rows already
    there: the triggers exist first, so a row committed after the seed's snapshot is counted by them
    (creating a trigger waits for the writers in flight, and later writers wait for this migration)."""
    from tenure_shared.test_clock_sync import CONSUMED, PRODUCED, SENT

    op.create_table(
        "test_clock_event_counts",
        sa.Column("clock_id", sa.String, primary_key=True),
        sa.Column("kind", sa.String, primary_key=True),
        sa.Column("topic", sa.String, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "test_clock_count_deltas",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("clock_id", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    deltas = "INSERT INTO test_clock_count_deltas (clock_id, kind, topic, n)"
    op.execute(f"""
        CREATE FUNCTION tenure_count_outbox_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {deltas}
            SELECT clock_id, '{PRODUCED}', topic, count(*) FROM written WHERE clock_id IS NOT NULL GROUP BY clock_id, topic
            UNION ALL
            SELECT clock_id, '{SENT}', topic, count(*) FROM written
            WHERE clock_id IS NOT NULL AND published_at IS NOT NULL GROUP BY clock_id, topic;
            RETURN NULL;
        END $$""")
    # Sent when published_at is set (the relay), unsent again when it is cleared (a republish).
    op.execute(f"""
        CREATE FUNCTION tenure_count_outbox_updates() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {deltas}
            SELECT new_rows.clock_id, '{SENT}', new_rows.topic, sum(CASE WHEN old_rows.published_at IS NULL THEN 1 ELSE -1 END)
            FROM old_rows JOIN new_rows ON new_rows.id = old_rows.id
            WHERE new_rows.clock_id IS NOT NULL AND (old_rows.published_at IS NULL) <> (new_rows.published_at IS NULL)
            GROUP BY new_rows.clock_id, new_rows.topic;
            RETURN NULL;
        END $$""")
    # Only the rows an INSERT wrote are in its transition table: a duplicate's ON CONFLICT DO NOTHING counts nothing.
    op.execute(f"""
        CREATE FUNCTION tenure_count_inbox_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {deltas}
            SELECT clock_id, '{CONSUMED}', topic, count(*) FROM written WHERE clock_id IS NOT NULL GROUP BY clock_id, topic;
            RETURN NULL;
        END $$""")
    op.execute(
        "CREATE TRIGGER tenure_count_outbox_inserts AFTER INSERT ON outbox_messages"
        " REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION tenure_count_outbox_inserts()"
    )
    op.execute(
        "CREATE TRIGGER tenure_count_outbox_updates AFTER UPDATE ON outbox_messages"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION tenure_count_outbox_updates()"
    )
    op.execute(
        "CREATE TRIGGER tenure_count_inbox_inserts AFTER INSERT ON inbox_events"
        " REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION tenure_count_inbox_inserts()"
    )
    op.execute(f"""
        INSERT INTO test_clock_event_counts (clock_id, kind, topic, n)
        SELECT clock_id, '{PRODUCED}', topic, count(*) FROM outbox_messages WHERE clock_id IS NOT NULL GROUP BY clock_id, topic
        UNION ALL
        SELECT clock_id, '{SENT}', topic, count(*) FROM outbox_messages
        WHERE clock_id IS NOT NULL AND published_at IS NOT NULL GROUP BY clock_id, topic
        UNION ALL
        SELECT clock_id, '{CONSUMED}', topic, count(*) FROM inbox_events WHERE clock_id IS NOT NULL GROUP BY clock_id, topic""")
