"""The satisfaction survey (IKM): the resident's form and the staff report."""
