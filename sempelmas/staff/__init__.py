"""Blueprint: staff."""
