"""The kelurahan itself: its profile, officials and holidays, the app's icons, and the demo data."""
