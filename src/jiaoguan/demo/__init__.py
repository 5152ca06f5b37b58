"""Demonstration data for the Zhumadian detachment: ``generate.py`` and the ``demo_data`` command."""
