"""The config the headless crash, lock and write-failure tests run: a two-agent pair on the
scripted model, no retries, no cache, so every request reaches the server as the test scripted it."""

from __future__ import annotations

PAIR_TOML = """
[[models]]
name = "default"
model = "scripted-model"
base_url = "{url}"
max_retries = 0

[llm]
cache_seed = false
{extra}
[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"
{user}

[[agents]]
name = "{assistant}"
kind = "assistant"
model = "default"
{assistant_lines}

[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "{assistant}"]
max_turns = {max_turns}
{after}"""


def pair_toml(url: str, max_turns: int, *, user: str = 'default_auto_reply = "continue"',
              extra: str = "", assistant: str = "assistant", assistant_lines: str = "", after: str = "") -> str:
    """The pair team's config.toml text on the scripted server at `url`; `user` adds lines to the
    user proxy, `assistant_lines` to the assistant (named `assistant`), `extra` whole sections
    (e.g. ``[docker]``) before the agents and `after` whole sections at the end."""
    return PAIR_TOML.format(url=url, max_turns=max_turns, user=user, extra=extra, assistant=assistant,
                            assistant_lines=assistant_lines, after=after)
