"""Data checks of accident cases (``jiaoguan check-data``): a party's plate, stored before it was
checked like every other plate, must be a GA 36 plate number in its normal form (the form the
vehicle look-up and the printed documents use)."""

from __future__ import annotations

from collections.abc import Iterator

from jiaoguan.core.datachecks import CheckContext, Finding, in_batches, register_check, table_of
from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import parse_plate

from .models import Party


def check_parties(context: CheckContext) -> Iterator[Finding]:
    table = table_of(Party)
    for rows in in_batches(Party.objects.exclude(plate=""), fields=("plate",), size=context.batch_size):
        for row in rows:
            try:
                plate = parse_plate(row["plate"])
            except ValidationFailed as error:
                yield Finding(table, str(row["pk"]), "plate", f"{error.code}: {error.message}")
                continue
            if plate.number != row["plate"]:
                yield Finding(
                    table, str(row["pk"]), "plate",
                    f"accidents.plate_not_normalised: 存储形式应为 {plate.number!r} "
                    f"(stored {row['plate']!r}; stored form must be the normal one)",
                )  # fmt: skip


def register() -> None:
    """Called from the accidents AppConfig.ready."""
    register_check("accidents.parties")(check_parties)
