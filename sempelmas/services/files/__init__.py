"""Uploaded files: re-encoding and storing uploads, the sweep of unreferenced files, and parsing untrusted input
in a budgeted child process.
"""
