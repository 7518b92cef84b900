"""Herald's storage: SQLAlchemy Core tables, and repositories, the only code that runs SQL.

    engine.py      create_engine(url), ping: SQLite (aiosqlite, WAL) or PostgreSQL (asyncpg)
    schema.py      the tables; migrations/ + migrate.py bring a database to them
    dialect.py     where SQLite and PostgreSQL differ (write transactions, claims, upserts)
    crypto.py      SecretBox: secrets encrypted at rest under HERALD_SECRET_KEY
    tenants.py     TenantRepository          apikeys.py     ApiKeyRepository
    messages.py    MessageRepository (accept, get, list, history, cancel, counts)
    outbox.py      Outbox (claim, mark_sent, schedule_retry, mark_failed, release, renew)
    reports.py     StatusReports (apply, apply_report: group-committed, de-duplicated)
    recipients.py  RecipientFacts (a recipient's opt-out and WhatsApp window, for the rules)
    group_commit.py  GroupCommit (concurrent writes of one kind share a transaction)
    reconcile.py   Reconciliations (claim messages stuck with the provider, record checks)
    optouts.py     OptOutRepository          inbound.py     InboundRepository (+ WhatsApp windows)
    events.py      EventRepository           endpoints.py   WebhookEndpointRepository
    deliveries.py  EventDeliveries           receipts.py    WebhookReceipts, IdempotencyKeys
    heartbeats.py  Heartbeats

Repositories take an `AsyncEngine` (and a `SecretBox` where they handle secrets) and return the
records of `herald.domain.records`. docs/storage.md describes the tables and the protocols.
"""
