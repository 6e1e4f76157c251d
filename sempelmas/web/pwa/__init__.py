"""The installable app: web app manifest, service worker, icons and the offline page."""
