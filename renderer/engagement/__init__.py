"""Engagement: events in, metrics and reports out."""
