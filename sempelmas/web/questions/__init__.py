"""Questions on a request ("Tanya petugas"): the resident's thread, the staff's, and the office's inbox."""
