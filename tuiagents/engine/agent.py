"""Conversable agents (AutoGen 0.2 semantics) and the assistant / user-proxy presets."""

from __future__ import annotations

from collections.abc import Awaitable
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from tuiagents.engine.events import AgentInfo
from tuiagents.engine.messages import Message
from tuiagents.engine.termination import is_termination_text
from tuiagents.engine.tools import Tool

if TYPE_CHECKING:  # the engine only needs these for type hints
    from tuiagents.execution.base import CodeExecutor
    from tuiagents.llm.client import LLMClient


class HumanInputMode(str, Enum):
    """When an agent asks a person for its reply."""

    ALWAYS = "ALWAYS"  # every turn
    TERMINATE = "TERMINATE"  # on a termination message or when auto replies run out
    NEVER = "NEVER"  # never; the agent replies on its own


DEFAULT_SYSTEM_MESSAGE = "You are a helpful AI assistant."

ASSISTANT_SYSTEM_MESSAGE = """You solve tasks step by step, working with a user who can run code for you.
- When a task needs computation, files, or checking something, write one complete code block (```python or ```sh) that the user can run as is; do not ask them to edit it. Print the results you need to see.
- To save code to a file, put `# filename: NAME` as the first line of the block.
- Send one code block per message, then wait for its output. If the output shows an error, find the cause and send the full corrected code, not a patch.
- Check results before you claim success, and say how you checked.
- When the task is done, give the answer and end your message with the word TERMINATE."""

USER_PROXY_DESCRIPTION = "A human user who gives tasks, answers questions and runs approved code."


class ConversableAgent:
    """An agent that can talk, call tools, run code and ask a person, depending on its setup.

    An agent with a model replies through the LLM; one with a code executor runs code blocks it
    receives (after approval); `human_input_mode` decides when a person speaks for it.
    """

    kind = "conversable"

    def __init__(
        self,
        name: str,
        system_message: str | None = DEFAULT_SYSTEM_MESSAGE,
        *,
        description: str = "",
        llm: "LLMClient | None" = None,
        model: str | None = None,
        human_input_mode: HumanInputMode | str = HumanInputMode.TERMINATE,
        max_consecutive_auto_reply: int | None = None,
        is_termination_msg: Callable[[Message], bool] | None = None,
        termination_keyword: str = "TERMINATE",
        code_executor: "CodeExecutor | None" = None,
        default_auto_reply: str = "",
    ) -> None:
        self.name = name
        self.system_message = system_message or ""
        self.description = description or (system_message or "")[:200]
        self.llm = llm
        self.model = model
        self.human_input_mode = HumanInputMode(human_input_mode)
        self.max_consecutive_auto_reply = max_consecutive_auto_reply
        self._is_termination_msg = is_termination_msg
        self.termination_keyword = termination_keyword
        self.code_executor = code_executor
        self.default_auto_reply = default_auto_reply
        self.tools: dict[str, Tool] = {}  # offered to this agent's model
        self.executable_tools: dict[str, Tool] = {}  # run by this agent
        self.consecutive_auto_replies = 0
        #: reply steps tried before the default ones (turns.py), newest first, as AutoGen's
        #: registered replies are: ``async step(run, agent) -> Message | None``
        self.reply_steps: list[Callable[..., Awaitable[Message | None]]] = []
        #: the reply step of its nested chats (engine/nested.py `register_nested_chats`), tried
        #: after the termination check and the human's reply, as AutoGen places them
        self.nested_reply: Callable[..., Awaitable[Message | None]] | None = None

    def register_reply(self, step: Callable[..., Awaitable[Message | None]]) -> None:
        """Try ``step(run, agent)`` first in this agent's turns; a None result lets the next step reply."""
        self.reply_steps.insert(0, step)

    def is_termination_msg(self, message: Message) -> bool:
        """True when `message` should end the conversation for this agent."""
        if self._is_termination_msg is not None:
            return bool(self._is_termination_msg(message))
        return is_termination_text(message.content, self.termination_keyword)

    def register_tool(self, fn: Callable[..., Any] | Tool, *, executor: "ConversableAgent | None" = None,
                      name: str | None = None, description: str | None = None) -> Tool:
        """Offer `fn` to this agent's model; `executor` (default: this agent) runs the calls."""
        tool = fn if isinstance(fn, Tool) else Tool.from_function(fn, name=name, description=description)
        self.tools[tool.name] = tool
        (executor or self).executable_tools[tool.name] = tool
        return tool

    @property
    def auto_reply_limit_reached(self) -> bool:
        """True once the agent has used up its consecutive automatic replies."""
        limit = self.max_consecutive_auto_reply
        return limit is not None and self.consecutive_auto_replies >= limit

    @property
    def info(self) -> AgentInfo:
        """What the UI and the session log show about this agent."""
        executor = None
        code = "none"
        if self.code_executor is not None:
            code = self.code_executor.kind
            executor = self.code_executor.limits.describe()
        return AgentInfo(name=self.name, kind=self.kind, model=self.model, description=self.description,
                         human_input_mode=self.human_input_mode.value, code_execution=code,
                         executor=executor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class AssistantAgent(ConversableAgent):
    """An LLM agent that never asks a person and runs no code itself (AutoGen's preset)."""

    kind = "assistant"

    def __init__(self, name: str, system_message: str | None = ASSISTANT_SYSTEM_MESSAGE, **kw: Any) -> None:
        kw.setdefault("human_input_mode", HumanInputMode.NEVER)
        kw.setdefault("description", "An AI assistant that solves tasks by reasoning and writing code.")
        super().__init__(name, system_message, **kw)


class UserProxyAgent(ConversableAgent):
    """A person's stand-in: asks the human, runs approved code, has no model by default."""

    kind = "user_proxy"

    def __init__(self, name: str, system_message: str | None = "", **kw: Any) -> None:
        kw.setdefault("human_input_mode", HumanInputMode.ALWAYS)
        kw.setdefault("description", USER_PROXY_DESCRIPTION)
        super().__init__(name, system_message, **kw)
