"""The platform's vehicle table, read only (the platform's migrations own it)."""

from django.db import models


class Vehicle(models.Model):
    plate_number = models.CharField(max_length=16, null=True)  # noqa: DJ001 - as the platform's column
    vin = models.CharField(max_length=17)
    brand_model = models.CharField(max_length=64)
    registered_on = models.DateField()

    class Meta:
        managed = False
        db_table = "registry_vehicle"

    def __str__(self) -> str:
        return self.plate_number or self.vin


class BenchSlot(models.Model):
    """A slot of the bare booking view (bench/bench_inspection_bookings.py makes the table)."""

    capacity = models.IntegerField()
    booked = models.IntegerField()

    class Meta:
        managed = False
        db_table = "bench_bare_slot"

    def __str__(self) -> str:
        return f"slot {self.pk}"


class BenchBooking(models.Model):
    slot = models.ForeignKey(BenchSlot, on_delete=models.DO_NOTHING)
    owner = models.IntegerField()

    class Meta:
        managed = False
        db_table = "bench_bare_booking"

    def __str__(self) -> str:
        return f"booking {self.pk}"
