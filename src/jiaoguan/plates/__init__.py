"""Plate pre-selection (预选机动车号牌, B19, P1-P5): pools, draws, selections, registration."""
