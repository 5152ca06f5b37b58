"""Demo people and their logins, for the demonstration data of the businesses (``jiaoguan up``).

Made once: a person's ID number is the marker, so running the demo again finds them and only
resets the password to the one the demo prints.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from jiaoguan.core.identifiers import make_citizen_id
from jiaoguan.registry.models import Person

from .models import User


def demo_person(*, division: str, name: str, birth: date, sequence: int, mobile: str) -> Person:
    """A resident of ``division`` with a valid, reproducible ID number (odd sequence: male)."""
    number = make_citizen_id(division, birth, sequence)
    person, _created = Person.objects.get_or_create(
        id_type="resident_id", id_number=number,
        defaults={"name": name, "sex": "M" if sequence % 2 else "F", "birth_date": birth,
                  "residence_division": division, "mobile": mobile},
    )  # fmt: skip
    return person


def demo_counter_login(person: Person, password: str) -> User:
    """A counter-registered login (the level licence businesses need online, U5)."""
    user = User.objects.filter(person=person).first()
    if user is None:
        user = User(
            username=person.id_number, kind=User.Kind.INDIVIDUAL, registration_level=User.Level.COUNTER,
            person=person, first_name=person.name, mobile=person.mobile, mobile_verified_at=timezone.now(),
        )  # fmt: skip
    user.set_password(password)
    user.save()
    return user
