"""reporter_phone_e164: every stored reporter phone number in E.164, as intake now stores it

The JSON API and the e-mail channel kept a number as the reporter wrote it ("0470 12 34 56",
"0470/12.34.56"), so the desk's search and the directory, which compare E.164, did not find those
meldingen by their number. Numbers that do not parse stay as they are (gateway.phonenumber.e164).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.phonenumber import e164

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_meldingen = sa.table("meldingen", sa.column("id", sa.String), sa.column("reporter_phone", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_meldingen.c.id, _meldingen.c.reporter_phone).where(
            _meldingen.c.reporter_phone.is_not(None), sa.not_(_meldingen.c.reporter_phone.like("+%"))
        )
    ).all()
    changed = [{"key": r.id, "phone": e164(r.reporter_phone)[:40]} for r in rows]
    changed = [c for c, r in zip(changed, rows, strict=True) if c["phone"] != r.reporter_phone]
    if changed:
        conn.execute(
            _meldingen.update()
            .where(_meldingen.c.id == sa.bindparam("key"))
            .values(reporter_phone=sa.bindparam("phone")),
            changed,
        )


def downgrade() -> None:
    pass  # the writing each reporter used is not kept; E.164 is the same number
