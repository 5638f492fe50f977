"""Outage events, the outage desk, alert fan-out and reliability indices (filled by the outage issue)."""
