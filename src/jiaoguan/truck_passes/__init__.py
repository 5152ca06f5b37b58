"""Truck restriction rules and pass codes (货车通行码, O1, O1a)."""
