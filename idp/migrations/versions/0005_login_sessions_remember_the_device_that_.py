"""login sessions remember the device that skipped the second factor

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:19:18.067117
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remembered_device_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_login_session_remembered_device_id_remembered_device'), 'remembered_device', ['remembered_device_id'], ['id'], ondelete='SET NULL')




def downgrade() -> None:

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_login_session_remembered_device_id_remembered_device'), type_='foreignkey')
        batch_op.drop_column('remembered_device_id')


