"""Graders the shop's scenarios share: each returns 1.0 or 0.0 from the run's state and journal."""
