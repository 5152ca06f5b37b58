"""Event messages (N1, N4): what other apps publish on the outbox, told to the people concerned."""

from __future__ import annotations
