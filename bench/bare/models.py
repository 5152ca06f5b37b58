"""The platform's vehicle table, read only (the platform's migrations own it)."""

from django.db import models


class Vehicle(models.Model):
    plate_number = models.CharField(max_length=16, null=True)
    vin = models.CharField(max_length=17)
    brand_model = models.CharField(max_length=64)
    registered_on = models.DateField()

    class Meta:
        managed = False
        db_table = "registry_vehicle"
