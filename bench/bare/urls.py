"""Two ceilings: a JSON answer without the database, and a primary-key read of a vehicle."""

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from .models import Vehicle


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


urlpatterns = [path("hello", hello), path("vehicle/<int:pk>", vehicle)]
