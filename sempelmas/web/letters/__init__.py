"""Issued letters: the public verification page (``verify``) and the staff register, revocation and
downloads (``routes``)."""
