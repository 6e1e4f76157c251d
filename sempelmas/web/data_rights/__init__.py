"""Residents' rights over their personal data (UU PDP): the resident's pages and the staff task list."""
