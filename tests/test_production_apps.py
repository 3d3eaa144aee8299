"""Issue #8: the sandbox's tables stay out of production databases."""

import sqlite3

from .test_security import PRODUCTION, _manage


def test_production_migrates_without_the_sandbox(tmp_path):
    db = tmp_path / "prod.sqlite3"
    env = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{db}"}
    result = _manage("migrate", "--noinput", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    tables = {row[0] for row in sqlite3.connect(db).execute("select name from sqlite_master")}
    assert "insights_instagramaccount" in tables and "accounts_agency" in tables
    assert not [t for t in tables if t.startswith("sandbox_")]
    check = _manage("makemigrations", "--check", "--dry-run", **env)
    assert check.returncode == 0, check.stdout + check.stderr
