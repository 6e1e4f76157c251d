"""Letters: numbering, rendering, the kelurahan CA and signing, issuing, batch signing, storage and the issued-
letter register.
"""
