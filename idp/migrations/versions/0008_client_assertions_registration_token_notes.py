"""private_key_jwt client assertions used once (jti until exp); a note on registration tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 18:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('used_client_assertion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.client_id'], name=op.f('fk_used_client_assertion_client_id_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_client_assertion')),
    sa.UniqueConstraint('client_id', 'jti', name=op.f('uq_used_client_assertion_client_id'))
    )
    with op.batch_alter_table('used_client_assertion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_client_assertion_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('registration_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('registration_token', schema=None) as batch_op:
        batch_op.drop_column('note')

    with op.batch_alter_table('used_client_assertion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_client_assertion_expires_at'))

    op.drop_table('used_client_assertion')
