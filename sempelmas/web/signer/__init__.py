"""Blueprint: signer."""
