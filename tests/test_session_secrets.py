"""The secret scrubber on its own."""

from __future__ import annotations

from tuiagents.session.secrets import REDACTED, Scrubber, env_secrets


def test_env_names_that_hold_secrets():
    env = {"OPENAI_API_KEY": "sk-aaaaaaaaaaaaaaaaaaaa", "AZURE_OPENAI_KEY": "azure-key-123456",
           "HF_TOKEN": "hf-token-value-1", "API_KEY": "bare-api-key-99", "DB_PASSWORD": "hunter2hunter2",
           "HOME": "/home/someone/long/path", "SHORT_TOKEN": "abc", "MONKEY": "not-a-secret-name"}
    assert sorted(env_secrets(env)) == sorted(["sk-aaaaaaaaaaaaaaaaaaaa", "azure-key-123456", "hf-token-value-1",
                                               "bare-api-key-99", "hunter2hunter2"])


def test_key_shapes_and_word_boundaries():
    s = Scrubber(environ={})
    assert s.scrub("key sk-proj-abcdefghijklmnop1234 end") == f"key {REDACTED} end"
    assert s.scrub("ghp_" + "a" * 36) == REDACTED and s.scrub("AKIA" + "B" * 16) == REDACTED
    assert s.scrub("task-abcdefghijklmnopqrstuvwxyz") == "task-abcdefghijklmnopqrstuvwxyz"
    assert s.scrub("ask-sk-proj-XXXXXXXXXXXXXXXXXXXXXXXX") == f"ask-{REDACTED}"
    assert s.scrub("short sk-abc") == "short sk-abc"


def test_literal_secrets_raw_and_json_escaped():
    s = Scrubber(['pa"ss\\word-123'], environ={})
    assert s.scrub('x pa"ss\\word-123 y') == f"x {REDACTED} y"
    assert s.scrub('{"v": "pa\\"ss\\\\word-123"}') == f'{{"v": "{REDACTED}"}}'


def test_pieces_keep_their_boundaries():
    s = Scrubber(["supersecretvalue"], environ={})
    assert s.scrub_pieces(["a super", "secret", "value b"]) == ["a " + REDACTED, "", " b"]
    assert s.scrub_pieces(["nothing", " here"]) == ["nothing", " here"]
