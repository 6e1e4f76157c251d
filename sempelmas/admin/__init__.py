"""Blueprint: admin."""
