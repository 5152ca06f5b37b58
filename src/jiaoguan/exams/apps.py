from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "jiaoguan.exams"
    label = "exams"
    verbose_name = "驾驶人考试 Driving tests"
