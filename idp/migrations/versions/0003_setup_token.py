"""one-time set-up links for people added by their account owner

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:10:33.431623
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('setup_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_setup_token_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setup_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_setup_token_token_hash'))
    )
    with op.batch_alter_table('setup_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_setup_token_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('setup_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_setup_token_user_id'))

    op.drop_table('setup_token')
