from django.apps import AppConfig


class PointsStudyConfig(AppConfig):
    name = "jiaoguan.points_study"
    label = "points_study"
    verbose_name = "学法减分 Study to reduce points"
