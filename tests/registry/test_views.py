"""My vehicles (Q1) and my driving licence (Q2) pages, and the home cards built from them."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import make_citizen_id, make_vin
from jiaoguan.registry import selectors
from jiaoguan.registry.models import DrivingLicence, Person, PointsEntry, Vehicle

# ---------------------------------------------------------------- fixtures (this module only)


@pytest.fixture
def pg_owner(db):
    counter = {"n": 0}

    def make(name: str = "张伟", birth: date = date(1985, 6, 15)) -> User:
        counter["n"] += 1
        person = Person.objects.create(
            id_number=make_citizen_id("411702", birth, 500 + counter["n"] * 2 + 1),
            name=name,
            birth_date=birth,
            residence_division="411702",
        )
        return User.objects.create_user(
            username=person.id_number,
            password="Lvse-Chuxing9",
            kind=User.Kind.INDIVIDUAL,
            registration_level=User.Level.ONLINE,
            person=person,
            first_name=name,
            mobile="13912345678",
        )

    return make


def _vehicle(user: User, n: int, **kw) -> Vehicle:
    return Vehicle.objects.create(
        plate_number=kw.pop("plate", f"豫QA{n:04d}"),
        plate_type=kw.pop("plate_type", "02"),
        vin=make_vin(f"LSVAB4BR0M{n:07d}"),
        kind=kw.pop("kind", "small_passenger"),
        use_nature=kw.pop("use_nature", "private"),
        owner_person=user.person,
        registered_on=kw.pop("registered_on", date(2021, 5, 13)),
        division="411702",
        **kw,
    )


def _text(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- home cards


@pytest.mark.django_db
def test_home_shows_vehicle_plate_status_and_inspection_date(client, pg_owner):
    user = pg_owner()
    vehicle = _vehicle(user, 1, plate="豫QA1234")
    status = selectors.vehicle_status(vehicle, today=timezone.localdate())
    client.force_login(user)
    html = _text(client.get("/"))
    assert "豫QA1234" in html
    assert "plate-blue" in html
    assert status.inspection_valid_until.strftime("%Y-%m-%d") in html
    assert f'href="/vehicles/{vehicle.pk}/"' in html


@pytest.mark.django_db
def test_home_shows_the_licence_card_with_points_out_of_12(client, pg_owner):
    user = pg_owner()
    licence = DrivingLicence.objects.create(
        holder=user.person,
        archive_number="411700000123",
        classes="C1",
        first_issued_on=date(2012, 3, 5),
        valid_from=date(2018, 3, 5),
        validity_term="10y",
        division="411702",
    )
    cycle = selectors.licence_status(licence, today=timezone.localdate())
    PointsEntry.objects.create(licence=licence, points=9, occurred_on=cycle.cycle_start, source="test")
    client.force_login(user)
    html = _text(client.get("/"))
    assert "C1" in html and "<strong>9</strong> / 12" in html
    assert "2028-03-05" in html
    assert "记分已达9分" in html  # amber alert with its reason
    assert 'href="/points-study/"' in html  # study to reduce points (V7)


@pytest.mark.django_db
def test_overdue_inspection_is_a_red_alert_linking_to_the_booking(client, pg_owner):
    user = pg_owner()
    vehicle = _vehicle(user, 2, registered_on=date(2010, 1, 10))
    client.force_login(user)
    html = _text(client.get("/"))
    assert "alert-red" in html and "检验已逾期" in html
    # The booking page of that vehicle (issue 14, B4).
    assert f'href="/inspections/book/{vehicle.pk}/"' in html


@pytest.mark.django_db
def test_new_energy_and_yellow_plates_use_their_colours(client, pg_owner):
    user = pg_owner()
    _vehicle(user, 3, plate="豫QD12345", plate_type="52")
    _vehicle(user, 4, plate="豫Q12345", plate_type="01", kind="heavy_truck", use_nature="freight")
    client.force_login(user)
    html = _text(client.get("/vehicles/"))
    assert "plate-green" in html and "plate-yellow" in html


# ---------------------------------------------------------------- vehicle pages


@pytest.mark.django_db
def test_vehicle_detail_shows_every_q1_field_in_words(client, pg_owner):
    user = pg_owner()
    vehicle = _vehicle(user, 5, registered_on=date(2010, 1, 10), status="G")
    status = selectors.vehicle_status(vehicle, today=timezone.localdate())
    client.force_login(user)
    html = _text(client.get(f"/vehicles/{vehicle.pk}/"))
    assert "违法未处理" in html and ">G<" in html  # code beside its meaning
    assert "逾期未检验" in html
    assert status.inspection_valid_until.strftime("%Y-%m-%d") in html
    assert ("上线检验" if status.next_inspection_on_site else "仅发标志") in html
    assert "无强制报废年限" in html  # private small passenger cars have no age limit
    assert "重点车辆" in html
    assert vehicle.vin not in html and status.vin_masked in html


@pytest.mark.django_db
def test_key_vehicle_has_a_scrapping_date(client, pg_owner):
    user = pg_owner()
    vehicle = _vehicle(user, 6, kind="heavy_truck", use_nature="freight", plate_type="01")
    status = selectors.vehicle_status(vehicle, today=timezone.localdate())
    client.force_login(user)
    html = _text(client.get(f"/vehicles/{vehicle.pk}/"))
    assert status.scrapping_date is not None
    assert status.scrapping_date.strftime("%Y-%m-%d") in html
    assert "是（" in html


@pytest.mark.django_db
def test_another_users_vehicle_is_404(client, pg_owner):
    owner, other = pg_owner(), pg_owner(name="李娜")
    vehicle = _vehicle(owner, 7)
    client.force_login(other)
    response = client.get(f"/vehicles/{vehicle.pk}/")
    assert response.status_code == 404
    assert "豫QA0007" not in _text(response)
    assert client.get("/vehicles/999999/").status_code == 404


@pytest.mark.django_db
def test_vehicle_pages_ask_anonymous_to_log_in(client):
    for path in ("/vehicles/", "/vehicles/1/", "/licences/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
def test_vehicle_page_in_english(client, pg_owner):
    user = pg_owner()
    vehicle = _vehicle(user, 8)
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = _text(client.get(f"/vehicles/{vehicle.pk}/"))
    assert "Inspection valid until" in html and "Small passenger car" in html


# ---------------------------------------------------------------- licence page


@pytest.mark.django_db
def test_licence_page_shows_every_q2_field(client, pg_owner):
    user = pg_owner(birth=date(1990, 2, 2))
    licence = DrivingLicence.objects.create(
        holder=user.person,
        archive_number="411700000124",
        classes="A2C1",
        first_issued_on=date(2015, 3, 5),
        valid_from=date(2021, 3, 5),
        validity_term="10y",
        probation_started_on=date(2023, 6, 1),
        division="411702",
    )
    status = selectors.licence_status(licence, today=timezone.localdate())
    client.force_login(user)
    html = _text(client.get("/licences/"))
    assert "A2" in html and "重型牵引挂车" in html and "C1" in html and "小型汽车" in html
    assert "2021-03-05" in html and "2031-03-05" in html
    assert status.cycle_start.strftime("%Y-%m-%d") in html and status.cycle_end.strftime("%Y-%m-%d") in html
    assert f"<strong>{status.points_in_cycle}</strong> / 12" in html
    assert status.probation_end is not None and status.probation_end.strftime("%Y-%m-%d") in html
    assert "正常" in html
    assert "审验" in html and "身体条件证明" in html and "超龄换证" in html
    assert user.person.id_number not in html


@pytest.mark.django_db
def test_long_term_licence_says_long_term(client, pg_owner):
    user = pg_owner(birth=date(1960, 2, 2))
    DrivingLicence.objects.create(
        holder=user.person,
        archive_number="411700000125",
        classes="C1",
        first_issued_on=date(1995, 3, 5),
        valid_from=date(2011, 3, 5),
        validity_term="long",
        division="411702",
    )
    client.force_login(user)
    html = _text(client.get("/licences/"))
    assert "长期" in html


@pytest.mark.django_db
def test_no_licence_and_no_vehicle_say_so(client, pg_owner):
    client.force_login(pg_owner())
    assert "暂无驾驶证信息" in _text(client.get("/licences/"))
    assert "名下暂无登记的机动车" in _text(client.get("/vehicles/"))


@pytest.mark.django_db
def test_my_vehicles_take_the_same_number_of_queries_for_one_vehicle_or_five(client, pg_owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = pg_owner()
    _vehicle(user, 1)
    client.force_login(user)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    one = {url: queries(url) for url in ("/vehicles/", "/api/v1/me/vehicles")}
    for n in range(2, 6):
        _vehicle(user, n)
    assert {url: queries(url) for url in one} == one
