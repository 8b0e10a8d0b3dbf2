"""client-credentials tokens: a token may have no user and no login (user_id, auth_time, acr nullable);
indexes for the nonce replay check at authorize and for revoking a session's tokens by sid

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 18:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('auth_time', existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.alter_column('acr', existing_type=sa.String(length=100), nullable=True)
        batch_op.create_index('ix_token_sid', ['sid'], unique=False)
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.create_index('ix_authorization_code_client_id_nonce', ['client_id', 'nonce'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.drop_index('ix_authorization_code_client_id_nonce')
    op.execute("DELETE FROM token WHERE user_id IS NULL")
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.drop_index('ix_token_sid')
        batch_op.alter_column('acr', existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column('auth_time', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
