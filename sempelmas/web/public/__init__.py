"""Blueprint: public."""
