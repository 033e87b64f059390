"""`lineageql tokens create`: prints a token once, stores only its hash, for the server."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import api
from api.auth import Tokens, hash_token
from sdk import cli


def create(home: Path, *args: str, **env: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(
        cli.app, ["tokens", "create", *args], env={"LINEAGEQL_HOME": str(home), **env}
    )
    return result.exit_code, result.stdout, result.stderr


def test_create_prints_the_token_once_and_stores_its_hash(tmp_path: Path) -> None:
    code, out, err = create(tmp_path, "--scope", "read", "--name", "ci")
    assert code == 0, err
    token = out.strip()
    assert out == token + "\n" and token.startswith("lqt_") and len(token) > 40
    assert "only time the token is shown" in err
    path = tmp_path / "tokens.json"
    text = path.read_text()
    assert token not in text
    [entry] = json.loads(text)["tokens"]
    assert (entry["name"], entry["scope"], entry["sha256"]) == ("ci", "read", hash_token(token))
    assert path.stat().st_mode & 0o777 == 0o600


def test_created_tokens_are_accepted_by_the_servers_settings(tmp_path: Path) -> None:
    _, reader, _ = create(tmp_path, "--scope", "read")
    _, writer, _ = create(tmp_path, "--scope", "WRITE")
    tokens = Tokens(api.Settings.from_env({"LINEAGEQL_HOME": str(tmp_path)}))
    principals = [tokens.authenticate(t.strip()) for t in (reader, writer)]
    assert [(p.name, p.scope) for p in principals if p] == [
        ("read-1", "read"),
        ("write-2", "write"),
    ]
    assert tokens.authenticate("lqt_guessed") is None


def test_tokens_file_variable_chooses_the_file(tmp_path: Path) -> None:
    elsewhere = tmp_path / "secrets" / "server-tokens.json"
    code, out, err = create(
        tmp_path / "home", "--scope", "write", LINEAGEQL_TOKENS_FILE=str(elsewhere)
    )
    assert code == 0, err
    assert str(elsewhere) in err
    assert hash_token(out.strip()) in elsewhere.read_text()
    assert not (tmp_path / "home" / "tokens.json").exists()


def test_unknown_scope_is_refused(tmp_path: Path) -> None:
    code, out, err = create(tmp_path, "--scope", "admin")
    assert code == 2
    assert out == ""
    assert "unknown scope 'admin'; a token's scope is 'read' or 'write'" in err
    assert not (tmp_path / "tokens.json").exists()


def test_a_duplicate_name_is_refused_and_keeps_the_file(tmp_path: Path) -> None:
    assert create(tmp_path, "--scope", "read", "--name", "ci")[0] == 0
    before = (tmp_path / "tokens.json").read_text()
    code, out, err = create(tmp_path, "--scope", "write", "--name", "ci")
    assert code == 2 and out == ""
    assert "a token named 'ci' exists" in err and "--name" in err
    assert (tmp_path / "tokens.json").read_text() == before


def test_scope_is_required(tmp_path: Path) -> None:
    code, _, err = create(tmp_path)
    assert code == 2
    assert "--scope" in err
