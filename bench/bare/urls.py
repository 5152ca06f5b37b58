"""Ceilings: a JSON answer without the database, a primary-key read of a vehicle, a bare booking."""

import json

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .models import BenchBooking, BenchSlot, Vehicle


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def vehicle(request: HttpRequest, pk: int) -> JsonResponse:
    row = get_object_or_404(Vehicle, pk=pk)
    return JsonResponse(
        {
            "id": row.pk,
            "plate_number": row.plate_number,
            "vin": row.vin,
            "brand_model": row.brand_model,
            "registered_on": row.registered_on.isoformat(),
        }
    )


@csrf_exempt
def book(request: HttpRequest) -> JsonResponse:
    """The bare booking (bench/bench_inspection_bookings.py): lock the slot row, check, increment,
    insert a booking; nothing else."""
    body = json.loads(request.body)
    with transaction.atomic():
        slot = BenchSlot.objects.select_for_update().get(pk=body["slot_id"])
        if slot.booked >= slot.capacity:
            return JsonResponse({"code": "full"}, status=409)
        slot.booked += 1
        slot.save(update_fields=["booked"])
        booking = BenchBooking.objects.create(slot=slot, owner=body["owner"])
    return JsonResponse({"id": booking.pk}, status=201)


urlpatterns = [path("hello", hello), path("vehicle/<int:pk>", vehicle), path("book", book)]
