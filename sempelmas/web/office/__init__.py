"""Reaching the office from a resident's screens: the help page, tappable phone and WhatsApp links, sharing a
letter's verification link."""
