"""The courses of the study to reduce points (V7), from ``jiaoguan.points_study.courses``."""

from django.db import migrations

from jiaoguan.points_study.courses import ensure_courses


def add_courses(apps, schema_editor):
    ensure_courses(apps.get_model("points_study", "Course"))


class Migration(migrations.Migration):
    dependencies = [("points_study", "0001_initial")]

    operations = [migrations.RunPython(add_courses, migrations.RunPython.noop)]
