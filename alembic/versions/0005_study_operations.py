"""study operations: clinic-only, died and lost statuses, the date of death, corrections, the CTCAE version, coded dismissals

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-26 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


PATIENT_STATUSES = ('enrolled', 'active', 'declined', 'withdrawn', 'infected', 'completed')


def _patient_statuses(allowed: tuple[str, ...]) -> None:
    """The CHECK constraint on patients.status."""
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_patients_patientstatus'), type_='check')
        batch_op.create_check_constraint('patientstatus', sa.column('status').in_(allowed))


def upgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('died_on', sa.Date(), nullable=True))
    _patient_statuses(PATIENT_STATUSES + ('clinic_only', 'died', 'lost'))
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissal_code', sa.Enum('sle_flare', 'il2_reaction', 'drug_fever', 'other_illness', 'other', name='dismissalreason', native_enum=False, create_constraint=True, length=16), nullable=True))
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('infections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('ctcae_version', sa.String(length=8), server_default='5.0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('infections', schema=None) as batch_op:
        batch_op.drop_column('ctcae_version')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('corrected')
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('corrected')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_column('dismissal_code')
    _patient_statuses(PATIENT_STATUSES)
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('died_on')
