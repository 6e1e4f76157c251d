"""Letter requests: submission, the lifecycle and its one transition table, RT endorsement, staff review, the
queue, who may see a request, its documents, and the service catalogue.
"""
