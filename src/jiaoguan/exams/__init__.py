"""Driving tests (驾驶人考试): exam centres, learner permits, exam plans, applications,
allocation by published rules, results (B22, B23, X1-X7; issue 16)."""
