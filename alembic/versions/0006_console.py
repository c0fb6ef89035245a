"""console: one-time sign-in links and sessions of the study console

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


OPEN_CHECKIN = "status = 'open' AND kind = 'checkin'"


def upgrade() -> None:
    with op.batch_alter_table('scheduled_contacts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_scheduled_contacts_open_checkins', ['due_at'], unique=False,
            sqlite_where=sa.text(OPEN_CHECKIN), postgresql_where=sa.text(OPEN_CHECKIN),
        )
    op.create_table('web_sign_in_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_web_sign_in_links_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sign_in_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sign_in_links_token_hash'))
    )
    with op.batch_alter_table('web_sign_in_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sign_in_links_staff_id'), ['staff_id'], unique=False)

    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_web_sessions_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scheduled_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_contacts_open_checkins')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_staff_id'))
    op.drop_table('web_sessions')
    with op.batch_alter_table('web_sign_in_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sign_in_links_staff_id'))
    op.drop_table('web_sign_in_links')
