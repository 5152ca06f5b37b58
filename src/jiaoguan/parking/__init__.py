"""Old-neighbourhood parking segments (老旧小区周边道路停车, O8)."""
