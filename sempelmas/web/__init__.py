"""The web layer: one blueprint per actor, and what they share (access decorators, forms, htmx answers, errors,
security headers, templating).
"""
