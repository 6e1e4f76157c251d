"""Complaints (pengaduan): the public form and tracking page, the resident's own, the staff queue."""
