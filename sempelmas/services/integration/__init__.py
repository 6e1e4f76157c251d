"""The integration API's work: its clients and keys, scopes, and the queries behind each /api/v1 resource."""
