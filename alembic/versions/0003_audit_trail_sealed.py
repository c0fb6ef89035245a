"""audit trail sealed: no TRUNCATE (PostgreSQL), no INSERT OR REPLACE over an existing event (SQLite)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# 0001's row triggers refuse UPDATE and DELETE; TRUNCATE skips row triggers (PostgreSQL), and SQLite's REPLACE
# deletes the old row without firing delete triggers (recursive_triggers is off), so each gets its own guard.
SQLITE_NO_REPLACE = """CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
   WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id)
   BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"""
POSTGRESQL_NO_TRUNCATE = """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
   FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"""


def upgrade() -> None:
    op.execute(SQLITE_NO_REPLACE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_NO_TRUNCATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_replace")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
