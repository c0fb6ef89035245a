"""study operations: clinic-only, died and lost statuses, the date of death, corrections, the CTCAE version, coded dismissals, typed answers, attributable consent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


PATIENT_STATUSES = ('enrolled', 'active', 'declined', 'withdrawn', 'infected', 'completed')


def _patient_statuses(allowed: tuple[str, ...]) -> None:
    """The CHECK constraint on patients.status."""
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_patients_patientstatus'), type_='check')
        batch_op.create_check_constraint('patientstatus', sa.column('status').in_(allowed))


TREATMENTS = ('none', 'oral_antimicrobial', 'iv_antimicrobial', 'antiviral', 'antifungal', 'procedure')


def _treatments_from_treatment() -> None:
    """Treatment becomes multi-select: each record's one treatment becomes a list of one."""
    infections = sa.table('infections', sa.column('id', sa.Integer()), sa.column('treatment', sa.String()), sa.column('treatments', sa.JSON()))
    connection = op.get_bind()
    for number, treatment in connection.execute(sa.select(infections.c.id, infections.c.treatment)).all():
        connection.execute(infections.update().where(infections.c.id == number).values(treatments=[treatment]))


def upgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('died_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('consent_version', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('consent_language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('consent_text_sha256', sa.String(length=64), nullable=True))
    _patient_statuses(PATIENT_STATUSES + ('clinic_only', 'died', 'lost'))
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissal_code', sa.Enum('sle_flare', 'il2_reaction', 'drug_fever', 'other_illness', 'other', name='dismissalreason', native_enum=False, create_constraint=True, length=16), nullable=True))
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('typed', sa.Text(), nullable=True))
    with op.batch_alter_table('infections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('ctcae_version', sa.String(length=8), server_default='5.0', nullable=False))
        batch_op.add_column(sa.Column('treatments', sa.JSON(), nullable=True))
    _treatments_from_treatment()
    with op.batch_alter_table('infections', schema=None) as batch_op:
        batch_op.alter_column('treatments', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint(batch_op.f('ck_infections_treatment'), type_='check')
        batch_op.drop_column('treatment')


def downgrade() -> None:
    with op.batch_alter_table('infections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('treatment', sa.Enum(*TREATMENTS, name='treatment', native_enum=False, create_constraint=True, length=24), nullable=True))
    infections = sa.table('infections', sa.column('id', sa.Integer()), sa.column('treatment', sa.String()), sa.column('treatments', sa.JSON()))
    connection = op.get_bind()
    for number, treatments in connection.execute(sa.select(infections.c.id, infections.c.treatments)).all():
        connection.execute(infections.update().where(infections.c.id == number).values(treatment=(treatments or ['none'])[0]))
    with op.batch_alter_table('infections', schema=None) as batch_op:
        batch_op.alter_column('treatment', existing_type=sa.String(length=24), nullable=False)
        batch_op.drop_column('treatments')
        batch_op.drop_column('ctcae_version')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('corrected')
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('typed')
        batch_op.drop_column('corrected')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_escalations_dismissalreason'), type_='check')
        batch_op.drop_column('dismissal_code')
    _patient_statuses(PATIENT_STATUSES)
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('consent_text_sha256')
        batch_op.drop_column('consent_language')
        batch_op.drop_column('consent_version')
        batch_op.drop_column('died_on')
