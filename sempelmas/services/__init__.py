"""Workflow rules. A service changes state and flushes; the view commits once per request."""
