"""client-credentials tokens: a token may have no user and no login (user_id, auth_time, acr nullable)

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-28 18:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('auth_time', existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.alter_column('acr', existing_type=sa.String(length=100), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM token WHERE user_id IS NULL")
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.alter_column('acr', existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column('auth_time', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
