"""The secret scrubber on its own."""

from __future__ import annotations

import html
import json

from tuiagents.session.secrets import REDACTED, Scrubber, env_secrets


def test_env_names_that_hold_secrets():
    env = {"OPENAI_API_KEY": "sk-aaaaaaaaaaaaaaaaaaaa", "AZURE_OPENAI_KEY": "azure-key-123456",
           "HF_TOKEN": "hf-token-value-1", "API_KEY": "bare-api-key-99", "DB_PASSWORD": "hunter2hunter2",
           "HOME": "/home/someone/long/path", "SHORT_TOKEN": "abc", "MONKEY": "not-a-secret-name"}
    assert sorted(env_secrets(env)) == sorted(["sk-aaaaaaaaaaaaaaaaaaaa", "azure-key-123456", "hf-token-value-1",
                                               "bare-api-key-99", "hunter2hunter2"])


def test_key_shapes_and_word_boundaries():
    s = Scrubber(environ={}, registry=False)  # shapes only: keys other tests registered are not in question
    assert s.scrub("key sk-proj-abcdefghijklmnop1234 end") == f"key {REDACTED} end"
    assert s.scrub("ghp_" + "a" * 36) == REDACTED and s.scrub("AKIA" + "B" * 16) == REDACTED
    assert s.scrub("task-abcdefghijklmnopqrstuvwxyz") == "task-abcdefghijklmnopqrstuvwxyz"
    assert s.scrub("ask-sk-proj-XXXXXXXXXXXXXXXXXXXXXXXX") == f"ask-{REDACTED}"
    assert s.scrub("short sk-abc") == "short sk-abc"


def test_a_key_shape_after_a_line_break_or_tab_is_found_in_a_json_line_too():
    # in a log line a key after a line break reads "\\nsk-...": the letter before it ends an escape
    s = Scrubber(environ={}, registry=False)
    key = "sk-proj-" + "A" * 24
    for before in ("\n", "\t", "\r", "\b", "\f", "\x07", "\u202e", '"', "\\"):
        text = f"see{before}{key} there"
        assert key not in s.scrub(text), repr(before)  # the text as written
        for line in (json.dumps({"content": text}), json.dumps({"content": text}, ensure_ascii=False)):
            assert key not in s.scrub(line) and "AAAAAAAAAAAA" not in s.mask(line), (repr(before), line)
            assert json.loads(s.scrub(line))  # still a valid line
    # a key after a "\\n" written in code (a backslash, an n) is found raw and in its JSON line alike
    code = 'print("one\\n' + key + '")'
    assert key not in s.scrub(code) and key not in s.scrub(json.dumps(code))
    assert s.scrub("task-" + "b" * 20) == "task-" + "b" * 20  # a word is still a word


def test_literal_secrets_raw_and_json_escaped():
    s = Scrubber(['pa"ss\\word-123'], environ={})
    assert s.scrub('x pa"ss\\word-123 y') == f"x {REDACTED} y"
    assert s.scrub('{"v": "pa\\"ss\\\\word-123"}') == f'{{"v": "{REDACTED}"}}'


def test_pieces_keep_their_boundaries():
    s = Scrubber(["supersecretvalue"], environ={})
    assert s.scrub_pieces(["a super", "secret", "value b"]) == ["a " + REDACTED, "", " b"]
    assert s.scrub_pieces(["nothing", " here"]) == ["nothing", " here"]


# -- the process-wide registry and its helpers (tuiagents.secrets) --------------------------------

def test_registered_url_credentials_query_tokens_and_headers_are_found_anywhere():
    from tuiagents import secrets

    secrets.register_url("https://robot:pw-7f3k29sl1q@llm.example/v1?api_key=qk-88d1c0ffee&v=1")
    secrets.register_headers({"Authorization": "Bearer bt-99aa77cc55", "X-Title": "my app title"})
    text = "pw-7f3k29sl1q and qk-88d1c0ffee and bt-99aa77cc55 and my app title"
    assert secrets.scrub(text) == f"{REDACTED} and {REDACTED} and {REDACTED} and my app title"
    # JSON- and HTML-escaped forms too
    secrets.register('pa"s<s>&word-1')
    assert secrets.scrub('{"v": "pa\\"s<s>&word-1"}') == f'{{"v": "{REDACTED}"}}'
    assert secrets.scrub("<p>pa&quot;s&lt;s&gt;&amp;word-1</p>") == f"<p>{REDACTED}</p>"


def test_url_shapes_are_found_without_registration():
    from tuiagents.secrets import scrub

    assert scrub("see https://u:p@h.example/x") == f"see https://{REDACTED}@h.example/x"
    assert scrub("GET /v1?x=1&apikey=abcdef&y=2") == f"GET /v1?x=1&apikey={REDACTED}&y=2"
    assert scrub("a&amp;token=abcdef") == f"a&amp;token={REDACTED}"
    assert scrub("git@github.com:me/repo and ?page=2") == "git@github.com:me/repo and ?page=2"


def test_mask_keeps_a_hint_of_long_keys_only():
    from tuiagents.secrets import mask, mask_value

    assert mask_value("sk-abcdefghijklmnop1234") == "sk-…1234"
    assert mask_value("short-secret") == "…"
    assert mask("key sk-abcdefghijklmnop1234.") == "key sk-…1234."


def test_safe_environ_drops_keys_and_what_holds_them():
    from tuiagents import secrets

    secrets.register("ordinary-name-value-42")
    env = {"PATH": "/usr/bin", "OPENAI_API_KEY": "sk-x", "OAI_CONFIG_LIST": "[]", "MY_LLM": "ordinary-name-value-42",
           "OPENAI_BASE_URL": "https://u:secretpw@h/v1", "HOME": "/root"}
    assert secrets.safe_environ(env) == {"PATH": "/usr/bin", "HOME": "/root"}


def test_scrub_url_and_headers_for_snapshots():
    from tuiagents.secrets import scrub_headers, scrub_url

    assert scrub_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"
    assert scrub_url("https://a:b@h/v1?k=v#frag") == f"https://{REDACTED}@h/v1?k={REDACTED}"
    assert scrub_headers({"api-key": "x"}) == {"api-key": REDACTED} and scrub_headers(None) is None


def test_a_scrubber_follows_later_registrations():
    from tuiagents import secrets

    s = Scrubber(environ={})
    assert s.scrub("late-secret-value-77") == "late-secret-value-77"
    secrets.register("late-secret-value-77")
    assert s.scrub("late-secret-value-77") == REDACTED


# -- fragments of known secrets (a key printed in pieces) ------------------------------------------

QA_KEY = "sk-proj-QAFAKEKEY1234567890abcdefghijklmnopqrstuvwxyzABCDEF"


def test_fragments_of_a_known_key_are_redacted_and_masked():
    from tuiagents.secrets import FRAGMENT_LENGTH

    s = Scrubber([QA_KEY], environ={}, registry=False)
    split = f"{QA_KEY[:20]} {QA_KEY[20:]}"
    assert s.scrub(split) == f"{REDACTED} {REDACTED}"
    prefix, suffix, middle = QA_KEY[:FRAGMENT_LENGTH], QA_KEY[-FRAGMENT_LENGTH:], QA_KEY[25:40]
    for part in (prefix, suffix, middle, QA_KEY[20:]):
        assert s.scrub(f"[{part}]") == f"[{REDACTED}]", part
        assert part not in s.mask(f"[{part}]") and s.mask(f"[{part}]").startswith("[")
    assert QA_KEY[20:] not in s.mask(split) and "4567890abcd" not in s.mask(split)
    # shorter than the fragment length, or not from a registered value: left alone
    assert s.scrub(QA_KEY[30:30 + FRAGMENT_LENGTH - 1]) == QA_KEY[30:30 + FRAGMENT_LENGTH - 1]
    assert s.scrub("abcdefXghijklXmnopqrXstuvwxyz") == "abcdefXghijklXmnopqrXstuvwxyz"
    assert Scrubber(environ={}, registry=False).scrub(QA_KEY[20:]) == QA_KEY[20:]


def test_a_fragment_is_extended_to_the_longest_run_and_pieces_keep_boundaries():
    s = Scrubber(["zq8-0123456789abcdefghij-tail"], environ={}, registry=False)
    assert s.scrub("x 0123456789abcdefghij-tai y") == f"x {REDACTED} y"
    assert s.scrub("0123456789abcdefghijZZ") == f"{REDACTED}ZZ"
    assert s.scrub_pieces(["a 0123456", "789abcdefgh b"]) == ["a " + REDACTED, " b"]


def test_short_secrets_are_found_by_shorter_fragments():
    from tuiagents.secrets import SHORT_FRAGMENT_LENGTH

    s = Scrubber(["pw-a1b2c3d4e5"], environ={}, registry=False)
    assert s.scrub("got a1b2c3d4e5!") == f"got {REDACTED}!"
    assert s.scrub("got pw-a1b2c3") == f"got {REDACTED}"
    assert s.scrub("pw-a1b2c3d4e5"[:SHORT_FRAGMENT_LENGTH - 1]) == "pw-a1b2c3d4e5"[:SHORT_FRAGMENT_LENGTH - 1]


# -- the cheap test before the full scan: same answers, whatever the text ---------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROP_KEYS = [QA_KEY, "pw-a1b2c3d4e5", 'quo"te\\back<ht>&ml-99', "Bearer tok-5f8e2a9c1b"]


def _pieces_of_secrets(loud: bool = True):
    """Text a secret can hide in: keys whole, in fragments and escaped, key shapes, URL credentials.
    Without `loud`, only fragments among words: nothing the regex's cheap test would react to."""
    key = st.sampled_from(PROP_KEYS)
    fragment = st.tuples(key, st.integers(0, 60), st.integers(6, 20)).map(lambda t: t[0][t[1]:t[1] + t[2]])
    words = st.text(st.sampled_from("abcdefXYZ0123456789 .,\n"), max_size=14)
    if not loud:
        return st.lists(fragment.filter(lambda f: "sk-" not in f) | words, max_size=8).map("".join)
    escaped = key.map(lambda k: json.dumps(k)[1:-1]) | key.map(html.escape)
    shape = st.sampled_from(["sk-", "ghp_", "github_pat_", "xoxb-", "AKIA", "AIza", "hf_", "ask-sk-"]).flatmap(
        lambda p: st.text(st.sampled_from("ABCdef0123_-"), min_size=8, max_size=40).map(lambda t: p + t))
    url = st.tuples(st.sampled_from(["https://", "http://", "://", "//"]),
                    st.sampled_from(["", "u:pw-secret@", "robot:x@", "@"]),
                    st.sampled_from(["h.example/v1", "h"]),
                    st.sampled_from(["", "?api_key=qk-88d1c0ffee", "&token=abcd", ";sig=xy", "?page=2", "&amp;key=zzzzz"]),
                    ).map("".join)
    noise = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
    filler = st.sampled_from([" ", "\n", '"', "=", "@", "-", "_", "sk", "gh", "xox", "A", "0123456789ab"])
    return st.lists(key | fragment | words | escaped | shape | url | noise | filler, max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces_of_secrets() | _pieces_of_secrets(loud=False), min_size=1, max_size=4),
       st.sampled_from([0, 1, 4]))
def test_the_fast_path_finds_what_the_full_scan_finds(texts, n_keys):
    keys = PROP_KEYS[:n_keys]
    fast = Scrubber(keys, environ={}, registry=False)
    full = Scrubber(keys, environ={}, registry=False, prefilter=False)
    for text in texts:
        assert fast.spans(text) == full.spans(text)
        assert fast.scrub(text) == full.scrub(text)
        assert fast.mask(text) == full.mask(text)
    assert fast.scrub_lines(texts) == [full.scrub(t) for t in texts]


def test_every_fragment_at_every_place_in_a_word_is_found_by_the_fast_path():
    # the fast path looks at one of every few positions of a word: a fragment must be seen
    # wherever it starts and however long it is (exactly the fragment length is the edge)
    for key in (QA_KEY, "pw-a1b2c3d4e5"):
        fast = Scrubber([key], environ={}, registry=False)
        full = Scrubber([key], environ={}, registry=False, prefilter=False)
        size = 8 if len(key) < 16 else 12
        for start in range(len(key) - size + 1):
            for length in range(size, min(size + 8, len(key) - start) + 1):
                for lead in range(8):
                    text = f". {'Q' * lead}{key[start:start + length]}. x"
                    assert fast.spans(text) == full.spans(text) != [], (key, start, length, lead)


def test_lines_scrubbed_together_are_scrubbed_one_by_one():
    s = Scrubber([QA_KEY], environ={}, registry=False)
    middle = QA_KEY[25:40]
    assert s.scrub_lines(["plain", f"x {middle} y", "z"]) == ["plain", f"x {REDACTED} y", "z"]
    assert s.scrub_lines(["a ?token=abcdef", "b"]) == [f"a ?token={REDACTED}", "b"]
    assert s.scrub_lines(["nothing", "here"]) == ["nothing", "here"] and s.scrub_lines([]) == []


def test_key_shapes_without_a_literal_start_are_always_scanned():
    s = Scrubber(environ={}, registry=False, patterns=(r"[0-9]{4}-secret-[a-z]{6}", r"(?i:tok_[a-z]{8})"))
    assert s.scrub("x 1234-secret-abcdef y") == f"x {REDACTED} y"
    assert s.scrub("TOK_abcdefgh") == REDACTED
    assert s.scrub_lines(["a", "b 9999-secret-zzzzzz"]) == ["a", f"b {REDACTED}"]


def test_a_scrubber_follows_the_live_environment(monkeypatch):
    s = Scrubber(registry=False)
    value = "env-held-value-1234567"
    assert s.scrub(f"x {value}") == f"x {value}"
    monkeypatch.setenv("LATE_SERVICE_TOKEN", value)
    assert s.scrub(f"x {value}") == f"x {REDACTED}" and s.scrub(value[3:17]) == REDACTED
    monkeypatch.setenv("UNRELATED_SETTING", "1")  # a change that adds no secret keeps it found
    assert s.scrub(f"x {value}") == f"x {REDACTED}"
    monkeypatch.delenv("LATE_SERVICE_TOKEN")
    assert s.scrub(f"x {value}") == f"x {value}"


def test_the_literal_start_of_a_key_shape():
    from tuiagents.prefilter import literal_starts

    assert literal_starts(r"sk-[A-Za-z0-9]{16,}") == ("sk-",)
    assert literal_starts(r"xox[ab]-\d+") == ("xoxa-", "xoxb-")
    assert literal_starts(r"a|b") == ("a", "b")
    # no literal start, or one that ignores case: the full scan always runs
    assert literal_starts(r"[a-z]+key") == () and literal_starts(r"(?i)tok_x") == ()
    assert literal_starts(r"(?i:tok)_x") == () and literal_starts(r"ab[^c]") == ("ab",)
