"""People: accounts (login, registration, verification, roles), sessions, login throttling, the population
register and its import.
"""
