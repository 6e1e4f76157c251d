"""Blueprint: rt."""
