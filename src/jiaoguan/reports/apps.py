from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "jiaoguan.reports"
    label = "reports"
    verbose_name = "交通安全信息通报、抄告 Reports to authorities and companies"
