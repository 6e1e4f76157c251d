"""Operations: background jobs and the worker loop, detached processes, notification delivery, backups and
retention.
"""
