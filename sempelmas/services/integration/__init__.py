"""Integration: what the API (web/api) reads and writes for the city's systems."""
