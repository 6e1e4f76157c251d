"""Blueprint: auth."""
