"""Procrastinate's tables and functions (PostgreSQL only), for the scale-out job queue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite deployments use the embedded queue, which needs only our jobs table
    from procrastinate.schema import SchemaManager

    # Driver-level, so SQLAlchemy leaves the '::' casts alone; the driver still reads '%' as a
    # placeholder, so the PL/pgSQL's literal '%' are doubled.
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
        "procrastinate_jobs, procrastinate_workers CASCADE"
    )
