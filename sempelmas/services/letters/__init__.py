"""Letters: numbering, rendering, the kelurahan CA and signing, issuing, batch signing, storage and the issued-
letter register.

Rendering: templates (the Jinja sources) + letter_context (their data) + kop (the letterhead, shared with
reports) → render (a request's letter) → pdf (HTML to PDF, fonts, QR); template_check tries an admin's edit.
Signing: ca (the kelurahan CA, key encryption) → certificates (the officials') → signing (PAdES, validation).
"""
