"""The province-day preparation (bench/province_day/prepare.py, issue 12 item 4) gives the load
test what it logs in with and queries: citizen logins that take the demo password, camera
records they can handle online, and accident numbers whose codes the query accepts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

PREPARE = Path(__file__).resolve().parents[2] / "bench" / "province_day" / "prepare.py"


def _prepare_module():
    spec = importlib.util.spec_from_file_location("province_day_prepare", PREPARE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db(transaction=True)
def test_prepared_logins_violations_and_accident_codes_work(tmp_path, settings):
    from jiaoguan.accidents import services as accidents
    from jiaoguan.accounts.models import User
    from jiaoguan.accounts.services import account_authenticate
    from jiaoguan.core.errors import NotFound
    from jiaoguan.violations.models import Violation

    settings.ACCIDENT_LOCAL_ROLLOUT = "online_query=2020-06-01,evidence_review=2021-07-01"
    settings.CREDENTIAL_AUTO_KEY = True
    out = tmp_path / "fixture.json"
    _prepare_module().prepare(persons=60, citizens=4, accidents=2, seed=7, out=out)
    fixture = json.loads(out.read_text(encoding="utf-8"))

    assert len(fixture["citizens"]) == 4
    assert len(fixture["accidents"]) == 2
    for username in fixture["citizens"]:
        user = account_authenticate(username=username, password=fixture["password"])
        assert user.kind == User.Kind.INDIVIDUAL and user.registration_level == User.Level.ONLINE
        # Something to handle online: the mix's transactions need unhandled camera records.
        assert Violation.objects.filter(
            vehicle__owner_person=user.person, status=Violation.Status.UNHANDLED
        ).exists()
    # Every login shares the one hash, made by the platform's own hasher (a full-cost check).
    assert User.objects.filter(username__in=fixture["citizens"]).values("password").distinct().count() == 1

    case = fixture["accidents"][0]
    found = accidents.progress_query(accident_number=case["number"], code=case["code"], client="ip:192.0.2.7")
    assert found.number == case["number"]
    with pytest.raises(NotFound):
        accidents.progress_query(
            accident_number=case["number"], code=case["code"][::-1], client="ip:192.0.2.7"
        )
