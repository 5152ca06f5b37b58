"""Command-line credential tools: key rotation, bulk issue, offline verification without a database."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jiaoguan.credentials import keys, services
from jiaoguan.credentials.models import Credential, SigningKey
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.credentials.verify import trust_list_json


@pytest.mark.django_db
def test_rotate_and_bulk_issue(make_person, make_vehicle, capsys):
    make_vehicle(owner=make_person(), registered_on=timezone.localdate() - timedelta(days=200))
    call_command("keys", "rotate", "--alg", "EdDSA")
    call_command("keys", "rotate")
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1
    assert SigningKey.objects.filter(retired_at__isnull=False, not_after__isnull=False).count() == 1
    call_command("issue_inspection_marks")
    assert Credential.objects.filter(status="valid").count() == 1
    assert "issued 1 marks" in capsys.readouterr().out


@pytest.mark.django_db
def test_offline_verify_runs_in_a_process_with_no_database(tmp_path, make_person, make_vehicle, settings):
    vehicle = make_vehicle(owner=make_person(), registered_on=timezone.localdate() - timedelta(days=200))
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    text, _ = services.credential_token(credential=credential, mode=DisplayMode.OFFLINE)
    (tmp_path / "keys.json").write_text(trust_list_json(keys.trust_list()))
    (tmp_path / "status.json").write_text(json.dumps({"status_list": services.status_list_token()}))
    (tmp_path / "mark.txt").write_text(text)
    env = {
        "PATH": "/usr/bin:/bin",
        "JIAOGUAN_DATA_DIR": str(tmp_path / "data"),
        # a database that cannot exist: the offline check must not touch one
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "DJANGO_SETTINGS_MODULE": "jiaoguan.settings",
    }
    run = [sys.executable, "-m", "jiaoguan.cli", "verify", str(tmp_path / "mark.txt"),
           "--keys", str(tmp_path / "keys.json"), "--status", str(tmp_path / "status.json")]  # fmt: skip
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("VALID")
    tampered = text[:-3] + ("AAA" if text[-3:] != "AAA" else "BBB")
    (tmp_path / "bad.txt").write_text(tampered)
    run[4] = str(tmp_path / "bad.txt")
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout.startswith("INVALID")
