"""remembered devices, back-channel logout and per-client lifetimes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:17:53.900896
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('remembered_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_remembered_device_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remembered_device')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_remembered_device_token_hash'))
    )
    with op.batch_alter_table('remembered_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remembered_device_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backchannel_logout_uri', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('access_token_lifetime', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('id_token_lifetime', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refresh_token_lifetime', sa.Integer(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('refresh_token_lifetime')
        batch_op.drop_column('id_token_lifetime')
        batch_op.drop_column('access_token_lifetime')
        batch_op.drop_column('backchannel_logout_uri')

    with op.batch_alter_table('remembered_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remembered_device_user_id'))

    op.drop_table('remembered_device')

