from django.apps import AppConfig


class AnnouncementsConfig(AppConfig):
    name = "jiaoguan.announcements"
    label = "announcements"
    verbose_name = "公告和信息公布 Announcements and publications"
