"""Scratch databases on the local PostgreSQL server (peer authentication as the OS user) for the deployment tests:
each test creates and drops its own; skipped when no server answers."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def server_available() -> bool:
    if not shutil.which("psql"):
        return False
    done = subprocess.run(["psql", "-d", "postgres", "-tAc", "SELECT 1"], capture_output=True, text=True, timeout=20)
    return done.returncode == 0 and done.stdout.strip() == "1"


def need_server() -> None:
    if not server_available():
        pytest.skip("no PostgreSQL server on the local socket")


def drop(*names: str) -> None:
    for name in names:
        subprocess.run(["dropdb", "--if-exists", "--force", name], check=True, capture_output=True, timeout=60)


def create(*names: str) -> None:
    drop(*names)
    for name in names:
        subprocess.run(["createdb", name], check=True, capture_output=True, timeout=60)


def query(name: str, sql: str) -> str:
    return subprocess.run(["psql", "-d", name, "-tAc", sql], check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()
