"""Blueprint: resident."""
