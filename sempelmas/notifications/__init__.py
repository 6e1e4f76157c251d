"""Blueprint: notifications (the bell)."""
