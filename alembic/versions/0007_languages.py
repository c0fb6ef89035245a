"""languages: a patient's and a staff member's language is a code of the bot's catalogs, checked by the services

The allowed values come from the compiled catalogs in locales/ (bot.i18n.languages()), so a language is added
by adding a catalog: the CHECK constraint that listed two codes goes, and the columns widen to 16 characters.
The stored codes (zh_CN, en) stay as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_patients_language'), type_='check')
        batch_op.alter_column('language', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.alter_column('consent_language', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=True)
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=False)


def downgrade() -> None:
    """Back to the two-language CHECK; refused while a patient or staff member uses another language."""
    bind = op.get_bind()
    for table, column in (('patients', 'language'), ('patients', 'consent_language'), ('staff', 'language')):
        others = bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} NOT IN ('zh_CN', 'en')")).scalar()
        if others:
            raise RuntimeError(f"{others} {table} rows have a {column} other than zh_CN or en: change them first")
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=False)
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.alter_column('consent_language', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=True)
        batch_op.alter_column('language', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_patients_language'), sa.text("language IN ('zh_CN', 'en')"))
