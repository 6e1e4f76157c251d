"""Blueprint: the staff/lurah dashboard, the reports for the city and the public transparency page."""
