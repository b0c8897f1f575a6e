"""Per-account asset counts kept by triggers, so listing (totalCount) and usage stats do not
scan every asset of an account.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UPSERT_NEW = """
    INSERT INTO asset_counts (owner_id, status, content_type, n, total_bytes)
    VALUES (NEW.owner_id, NEW.status, NEW.content_type, 1, NEW.size_bytes)
    ON CONFLICT (owner_id, status, content_type)
    DO UPDATE SET n = asset_counts.n + 1,
                  total_bytes = asset_counts.total_bytes + excluded.total_bytes;
"""
_SUBTRACT_OLD = """
    UPDATE asset_counts SET n = n - 1, total_bytes = total_bytes - OLD.size_bytes
    WHERE owner_id = OLD.owner_id AND status = OLD.status AND content_type = OLD.content_type;
"""

_SQLITE = [
    f"CREATE TRIGGER asset_counts_insert AFTER INSERT ON assets BEGIN {_UPSERT_NEW} END",
    f"CREATE TRIGGER asset_counts_delete AFTER DELETE ON assets BEGIN {_SUBTRACT_OLD} END",
    "CREATE TRIGGER asset_counts_update AFTER UPDATE OF owner_id, status, content_type, "
    f"size_bytes ON assets BEGIN {_SUBTRACT_OLD} {_UPSERT_NEW} END",
]

_POSTGRES = [
    f"""
    CREATE FUNCTION asset_counts_maintain() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN {_SUBTRACT_OLD} END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN {_UPSERT_NEW} END IF;
        RETURN NULL;
    END;
    $$
    """,
    "CREATE TRIGGER asset_counts_insert_delete AFTER INSERT OR DELETE ON assets "
    "FOR EACH ROW EXECUTE FUNCTION asset_counts_maintain()",
    "CREATE TRIGGER asset_counts_update AFTER UPDATE OF owner_id, status, content_type, "
    "size_bytes ON assets FOR EACH ROW EXECUTE FUNCTION asset_counts_maintain()",
]


def upgrade() -> None:
    op.create_table(
        "asset_counts",
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "status", "content_type", name="pk_asset_counts"),
    )
    bind = op.get_bind()
    for statement in _POSTGRES if bind.dialect.name == "postgresql" else _SQLITE:
        bind.exec_driver_sql(statement)
    bind.exec_driver_sql(
        "INSERT INTO asset_counts (owner_id, status, content_type, n, total_bytes) "
        "SELECT owner_id, status, content_type, count(*), coalesce(sum(size_bytes), 0) "
        "FROM assets GROUP BY owner_id, status, content_type"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER asset_counts_insert_delete ON assets")
        bind.exec_driver_sql("DROP TRIGGER asset_counts_update ON assets")
        bind.exec_driver_sql("DROP FUNCTION asset_counts_maintain()")
    else:
        for name in ("insert", "delete", "update"):
            bind.exec_driver_sql(f"DROP TRIGGER asset_counts_{name}")
    op.drop_table("asset_counts")
