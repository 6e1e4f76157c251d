"""Services that connect SemPelMas to other systems: the integration API's clients, keys, scopes and the queries
behind each /api/v1 resource, and the kecamatan's OpenDK connector."""
