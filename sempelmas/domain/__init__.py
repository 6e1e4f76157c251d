"""Pure domain rules (no Flask): NIK, phone numbers, masking."""
