"""One agent's turn as a list of reply steps: termination check, pending tool calls, code to run,
human input, nested chats, LLM reply, default reply. The first step that delivers a message ends the turn.

The order follows AutoGen 0.2's reply functions; an agent's registered steps come first. Every gate goes through `run.decide`, so a
person (or a policy) approves, edits, rejects, skips or stops at each step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tuiagents.engine.agent import ConversableAgent, HumanInputMode
from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import CodeSnippet, DecidedBy, Decision, DecisionKind, DecisionRequest, RequestKind
from tuiagents.engine.events import (
    CodeProposed, DraftDiscarded, ExecutionFinished, ExecutionOutput, ExecutionStarted, MessageDrafted,
    StopKind, TokenDelta,
)
from tuiagents.engine.messages import Message, ToolCall, history_for
from tuiagents.engine.termination import StopInfo
from tuiagents.engine.tool_turn import tool_turn
from tuiagents.engine.tools import open_tool_calls

if TYPE_CHECKING:
    from tuiagents.execution.base import StartProblem
    from tuiagents.llm.streaming import DraftDiscard


def _stop(kind: StopKind, reason: str) -> RunStop:
    return RunStop(StopInfo(kind, reason))


async def _human_reply(run: RunCore, agent: ConversableAgent, d: Decision) -> Message:
    agent.consecutive_auto_replies = 0
    return await run.deliver(Message(sender=agent.name, content=d.content or "", origin="human"), d.sender)


async def termination_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """A termination message ends the run, unless the person answers it for `agent`."""
    last = run.transcript[-1] if run.transcript else None
    replying_to = last if last is not None and last.sender != agent.name else None
    if replying_to is None or replying_to.origin == "execution" or not agent.is_termination_msg(replying_to):
        return None
    said = f"{replying_to.sender} said {agent.termination_keyword}"
    if agent.human_input_mode != HumanInputMode.NEVER:
        d = await run.decide(DecisionRequest(
            kind=RequestKind.HUMAN_INPUT, agent=agent.name, ends_run=True,
            prompt=f"{said}. Reply as {agent.name} to continue, or approve to end the run."))
        if d.kind == DecisionKind.REPLY:
            return await _human_reply(run, agent, d)
    raise _stop(StopKind.TERMINATION_MESSAGE, said)


async def tool_call_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """Open tool calls `agent` runs (or must answer) are run, after approval."""
    caller, calls, open_calls = _pending_calls(run, agent)
    return await tool_turn(run, agent, caller, calls, open_calls) if calls else None


async def code_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """Code sent to an agent with an executor is run, after approval."""
    if agent.code_executor is None:
        return None
    found = _code_to_run(run, agent)
    return await _code_turn(run, agent, *found) if found is not None else None


async def human_input_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """The person replies for `agent` when its input mode asks them; else its auto reply follows."""
    asks_human = agent.human_input_mode == HumanInputMode.ALWAYS or (
        agent.human_input_mode == HumanInputMode.TERMINATE and agent.auto_reply_limit_reached)
    if asks_human:
        d = await run.decide(DecisionRequest(
            kind=RequestKind.HUMAN_INPUT, agent=agent.name,
            prompt=f"Reply as {agent.name}, or approve to let it reply on its own."))
        if d.kind == DecisionKind.REPLY:
            return await _human_reply(run, agent, d)
    elif agent.auto_reply_limit_reached:
        raise _stop(StopKind.NO_REPLY, f"{agent.name} reached its limit of "
                                       f"{agent.max_consecutive_auto_reply} consecutive auto replies")
    agent.consecutive_auto_replies += 1  # what follows is an automatic reply
    return None


async def nested_chat_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """`agent` replies with its nested chats' summary when a trigger spoke to it (engine/nested.py)."""
    return await agent.nested_reply(run, agent) if agent.nested_reply is not None else None


async def llm_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """`agent`'s model writes the reply, which is delivered once approved."""
    return await _llm_turn(run, agent) if agent.llm is not None else None


async def default_reply_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """An agent without a model sends its fixed auto reply, when it has one."""
    if not agent.default_auto_reply:
        return None
    return await run.deliver(Message(sender=agent.name, content=agent.default_auto_reply))


#: A reply step: the message it delivered for the agent, or None to let the next step reply.
ReplyStep = Callable[[RunCore, ConversableAgent], Awaitable["Message | None"]]

#: Every agent's turn unless it registered its own (`ConversableAgent.register_reply`), in the order
#: of AutoGen 0.2's reply functions.
DEFAULT_REPLY_STEPS: tuple[ReplyStep, ...] = (
    termination_step, tool_call_step, code_step, human_input_step, nested_chat_step, llm_step, default_reply_step,
)


def reply_steps(agent: ConversableAgent) -> list[ReplyStep]:
    """The steps of `agent`'s turn: those it registered, first, then the defaults."""
    return [*agent.reply_steps, *DEFAULT_REPLY_STEPS]


async def take_turn(run: RunCore, agent: ConversableAgent) -> Message:
    """Produce and deliver `agent`'s next message: the first reply step that replies; RunStop ends the run."""
    for step in reply_steps(agent):
        message = await step(run, agent)
        if message is not None:
            return message
    raise _stop(StopKind.NO_REPLY, f"{agent.name} had nothing to reply (no human input, no code to run, "
                                   f"no model)")


def _code_to_run(run: RunCore, agent: ConversableAgent) -> tuple[Message, list] | None:
    """The newest agent message since `agent` last spoke that holds runnable code, and its blocks.

    Like AutoGen's `last_n_messages="auto"`: a human note injected after the code (or a message
    from a third agent) does not hide the code from the agent that runs it.
    """
    from tuiagents.execution.codeblocks import extract_code_blocks

    for message in reversed(run.transcript):
        if message.sender == agent.name:
            return None
        if message.origin != "agent":
            continue
        blocks = extract_code_blocks(message.content or "")
        if any(b.runnable for b in blocks):
            return message, blocks
    return None


def _pending_calls(run: RunCore, agent: ConversableAgent) -> tuple[str, list[ToolCall], list[ToolCall]]:
    """(caller, the open calls this agent runs, every open call): empty when none are for it."""
    pending = open_tool_calls(run.transcript)
    if pending is None:
        return "", [], []
    message, calls = pending
    mine = [c for c in calls if c.name in agent.executable_tools]
    if not mine and message.sender != agent.name:
        return message.sender, [], calls
    # Calls nobody can run (an unknown tool) are answered, with an error, by whoever answers the
    # message: left unanswered they would silently vanish from the caller's view.
    nobody = [c for c in calls if not any(c.name in a.executable_tools for a in run.agents.values())]
    return message.sender, [c for c in calls if c in mine or c in nobody], calls


def _blocks_from_edit(text: str, original: list) -> list:
    from tuiagents.execution.codeblocks import CodeBlock, extract_code_blocks

    if "```" in text or "~~~" in text:
        blocks = extract_code_blocks(text)
        if blocks:
            return blocks
    first = next(b for b in original if b.runnable)
    return [CodeBlock(language=first.language, code=text, filename=first.filename, runnable=True,
                      tag=first.tag)]


class SandboxDown(Exception):
    """A block could not start (its sandbox is missing): not a code result, nothing for the model."""

    def __init__(self, problem: StartProblem) -> None:
        super().__init__(problem.describe())
        self.problem = problem


#: What a person may answer when the sandbox cannot start: Run checks again (and runs once it can).
WHEN_DOWN = [DecisionKind.APPROVE, DecisionKind.SKIP, DecisionKind.REPLY, DecisionKind.STOP]


async def _code_turn(run: RunCore, agent: ConversableAgent, source: Message, blocks: list) -> Message:
    executor = agent.code_executor
    limits = executor.limits.describe()
    snippets = [CodeSnippet(language=b.language, code=b.code, filename=b.filename, guessed=b.guessed,
                            runnable=b.runnable) for b in blocks]
    await run.emit(CodeProposed(agent=source.sender, blocks=snippets, executor=limits))
    where = "UNSANDBOXED on this machine" if executor.kind == "local" else "in the Docker sandbox"
    from tuiagents.execution.base import code_sha256

    def to_run(d: Decision) -> list:
        return _blocks_from_edit(d.content or "", blocks) if d.kind == DecisionKind.EDIT else blocks

    # Checked before the first block is offered: nobody approves code that cannot start, and
    # what is missing goes to the person, never to the model as if the code had printed it.
    problem = await executor.start_problem()
    # a block the executor will refuse (its `# filename:`) is named before anyone approves it
    refused = "".join(f" ⚠ block {n} will not run: {b.filename_error}." for n, b in enumerate(blocks, 1)
                      if b.runnable and b.filename_error)
    while True:
        prompt = f"Run {source.sender}'s code {where} as {agent.name}?{refused}"
        if problem is not None:
            await run.notice(f"The sandbox cannot start: {problem.describe()}", "error", agent.name)
            # A standing approval does not answer this: it approved running code, not waiting.
            run.supervisor.ask_again(RequestKind.CODE, source.sender, "")
            prompt = (f"The sandbox cannot start: {problem.missing}. Fix it, then Run to check again; "
                      f"or skip the code ({source.sender} is told it was not run), reply yourself, or stop.")
        d = await run.decide(DecisionRequest(
            kind=RequestKind.CODE, agent=source.sender, code_blocks=snippets, executor=limits,
            content="\n\n".join(b.code for b in blocks if b.runnable), prompt=prompt,
            allowed=WHEN_DOWN if problem is not None else []),
            code_hashes=lambda d: [code_sha256(b.code) for b in to_run(d) if b.runnable])
        if d.kind == DecisionKind.REPLY:
            return await _human_reply(run, agent, d)
        if d.kind == DecisionKind.SKIP:
            return await run.deliver(Message(sender=agent.name, origin="execution",
                                             content=f"The code was not run: skipped by {d.by.words(article=True)}."
                                                     + (f" {d.note}" if d.note and d.by != DecidedBy.HUMAN else "")))
        if problem is not None:
            if d.by != DecidedBy.HUMAN:  # a policy cannot fix the machine: say what to do, and end
                raise _stop(StopKind.ERROR, f"{agent.name} could not run {source.sender}'s code: the sandbox "
                                            f"cannot start: {problem.describe()}")
            problem = await executor.start_problem()
            if problem is not None:
                continue
        try:
            return await run_code(run, agent, to_run(d), source=source.sender, approved=d.code_sha256)
        except SandboxDown as down:
            problem = down.problem


async def run_code(run: RunCore, agent: ConversableAgent, blocks: list, source: str | None = None,
                   approved: list[str] | None = None) -> Message:
    """Run approved blocks in order (stopping at the first failure); deliver the result text.

    ``approved`` holds the sha256 recorded with the approval, one per runnable block: the
    executor refuses a block whose bytes no longer match it.
    """
    from tuiagents.execution.base import EXIT_CANCELLED, code_sha256, format_result_for_agent, new_run_id

    hashes = iter(approved or [])

    executor = agent.code_executor
    results = []
    cancel = run.control.code_started()
    cleaned = executor.pop_notice() if hasattr(executor, "pop_notice") else None
    if cleaned:  # leftovers of crashed sessions were removed as this run started
        await run.notice(cleaned, "warning", agent.name)
    for index, block in enumerate(blocks):
        if not block.runnable:
            continue
        exec_id = new_run_id()
        expected = next(hashes, None)
        await run.emit(ExecutionStarted(exec_id=exec_id, agent=agent.name, language=block.language,
                                        code=block.code, executor=executor.limits.describe(),
                                        source_agent=source, block_index=index,
                                        code_sha256=code_sha256(block.code)))

        async def on_output(text: str, exec_id: str = exec_id) -> None:
            await run.emit(ExecutionOutput(exec_id=exec_id, agent=agent.name, text=text))

        started = time.monotonic()
        try:
            result = await executor.run(block, on_output=on_output, cancel=cancel,
                                        approved_sha256=expected)
        except asyncio.CancelledError:
            # The run was stopped mid-block (its turn was cancelled; the executor killed the
            # code): still end the block's story, or the log and the UI show it running forever.
            await run.emit(ExecutionFinished(exec_id=exec_id, agent=agent.name, exit_code=EXIT_CANCELLED,
                                             duration=time.monotonic() - started, cancelled=True))
            raise
        await run.emit(ExecutionFinished(exec_id=exec_id, agent=agent.name, exit_code=result.exit_code,
                                         duration=result.duration, timed_out=result.timed_out,
                                         cancelled=result.cancelled, truncated=result.truncated,
                                         error=result.error))
        if result.start_problem is not None:
            if not results:
                run.control.code_finished()
                raise SandboxDown(result.start_problem)  # nothing ran: the person decides, not the model
            await run.notice(f"The sandbox cannot start: {result.start_problem.describe()}", "error", agent.name)
            result.error = "the sandbox could not start to run this block"  # the agent's words, no daemon error
        elif result.error:
            await run.notice(result.error, "error", agent.name)
        results.append((block, result))
        if not result.ok:
            break
    run.control.code_finished()  # nothing runs any more: a stop may cancel the turn again
    text = format_result_for_agent([b for b, _ in results], [r for _, r in results])
    run.check_stop()
    return await run.deliver(Message(sender=agent.name, content=text, origin="execution"))


async def _llm_turn(run: RunCore, agent: ConversableAgent) -> Message:
    from tuiagents.llm.errors import LLMError

    extra: list[dict] = []
    tools = [t.openai_schema() for t in agent.tools.values()] or None
    while True:
        messages = history_for(agent.name, agent.system_message, run.transcript) + extra

        async def on_delta(text: str) -> None:
            run.check_stop()
            await run.emit(TokenDelta(agent=agent.name, text=text))

        async def on_discard(discard: DraftDiscard) -> None:  # a broken stream: its text is void, asked again
            await run.emit(DraftDiscarded(agent=agent.name, chars=len(discard.text), reason=discard.reason))

        try:
            completion = await agent.llm.complete(messages, entry=agent.model, tools=tools,
                                                  agent=agent.name, on_delta=on_delta, on_discard=on_discard)
        except LLMError as exc:
            raise _stop(StopKind.ERROR, f"{agent.name} got no reply from its model: {exc}") from None
        await run.record_usage(agent.name, completion)
        content = completion.content or ""
        if not content.strip() and not completion.tool_calls:
            await run.notice(f"{agent.name}'s model returned an empty reply", "warning", agent.name)
        await run.emit(MessageDrafted(agent=agent.name, content=content, tool_calls=completion.tool_calls))
        d = await run.decide(DecisionRequest(kind=RequestKind.MESSAGE, agent=agent.name, content=content,
                                             tool_calls=completion.tool_calls,
                                             prompt=f"Deliver {agent.name}'s message?"))
        if d.kind == DecisionKind.REJECT:
            extra += [{"role": "assistant", "content": content},
                      {"role": "user", "content": f"Your draft was rejected by the human supervisor. "
                                                  f"Feedback: {d.content}\nWrite a new reply."}]
            continue
        if d.kind == DecisionKind.INJECT and d.deliver == "now":
            await run.deliver(Message(sender="human", content=d.content or "", origin="human",
                                      recipient=None if d.target in (None, "all") else d.target), d.sender)
            extra = []
            continue
        if d.kind == DecisionKind.INJECT:
            await run.queue(Message(sender="human", content=d.content or "", origin="human",
                                    recipient=None if d.target in (None, "all") else d.target), d.sender)
        if d.kind == DecisionKind.EDIT:
            return await run.deliver(Message(sender=agent.name, content=d.content or "",
                                             tool_calls=completion.tool_calls, human_edited=True,
                                             original=content))
        return await run.deliver(Message(sender=agent.name, content=content, tool_calls=completion.tool_calls))
