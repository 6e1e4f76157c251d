"""Accountability: service statistics, the satisfaction survey, complaints, reports for the city, the audit log
and residents' data rights.
"""
