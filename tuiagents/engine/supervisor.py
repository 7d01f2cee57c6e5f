"""The supervisor protocol: policies answer what they may, a person answers the rest.

`Supervisor.policy_decision` is pure (no I/O): standing rules first ("approve for this session",
explicit rules), then the run's approve mode. `TeamRun.decide` asks it, and when it returns None
emits a `DecisionRequested` event and awaits the future a person resolves.
"""

from __future__ import annotations

from typing import Iterable, Literal

from tuiagents.engine.decisions import (
    ApprovalRule, DecidedBy, Decision, DecisionKind, DecisionRequest, RequestKind, Scope,
)
from tuiagents.engine.tool_args import arguments_problem, same_arguments

ApproveMode = Literal["ask", "all", "none"]

#: What each request kind may be answered with; the UI shows only these controls.
ALLOWED: dict[RequestKind, list[DecisionKind]] = {
    RequestKind.MESSAGE: [DecisionKind.APPROVE, DecisionKind.EDIT, DecisionKind.REJECT,
                          DecisionKind.INJECT, DecisionKind.STOP],
    RequestKind.TOOL_CALL: [DecisionKind.APPROVE, DecisionKind.EDIT, DecisionKind.SKIP, DecisionKind.REPLY,
                            DecisionKind.STOP],
    RequestKind.CODE: [DecisionKind.APPROVE, DecisionKind.EDIT, DecisionKind.SKIP,
                       DecisionKind.REPLY, DecisionKind.STOP],
    RequestKind.HUMAN_INPUT: [DecisionKind.REPLY, DecisionKind.APPROVE, DecisionKind.STOP],
    RequestKind.SPEAKER: [DecisionKind.CHOOSE_SPEAKER, DecisionKind.STOP],
    # approve the transfer, redirect it to another agent, or refuse it with feedback (the caller keeps on)
    RequestKind.HANDOFF: [DecisionKind.APPROVE, DecisionKind.CHOOSE_SPEAKER, DecisionKind.REJECT,
                          DecisionKind.STOP],
}


class InvalidDecision(ValueError):
    """A decision that does not fit its request (an empty edit, an unknown speaker...)."""


def inject_problem(text: str | None, target: str | None, agents: Iterable[str]) -> str | None:
    """Why a human message cannot be sent to `target` ("all" or an agent), or None when it can."""
    names = list(agents)
    if not (text or "").strip():
        return "an empty message has nothing to say; type some text"
    if target not in (None, "all", *names):
        return f"no agent named {target!r} to send the message to; choose one of: all, {', '.join(names)}"
    return None


class Supervisor:
    """Holds the approve mode and the standing approval rules of one run."""

    def __init__(self, mode: ApproveMode = "ask", rules: list[ApprovalRule] | None = None) -> None:
        self.mode: ApproveMode = mode
        self.rules: list[ApprovalRule] = list(rules or [])
        #: (kind, agent or None for any, why): the next such request is not answered by a rule
        self.ask_first: list[tuple[RequestKind, str | None, str]] = []

    def ask_again(self, kind: RequestKind, agent: str | None, why: str) -> None:
        """Let no standing rule answer the next `kind` request from `agent` (None: any agent).

        A resumed run uses this for code that was running when the process died: a rule given
        before the crash approved new code, not running a half-run block again. The approve mode
        still applies; `why` is put before the request's prompt so the person knows.
        """
        self.ask_first.append((kind, agent, why))

    def add_rule(self, rule: ApprovalRule) -> None:
        """Approve every later request matching `rule` without asking."""
        if rule not in self.rules:
            self.rules.append(rule)

    def policy_decision(self, request: DecisionRequest) -> Decision | None:
        """The decision a rule or the approve mode makes, or None when a person must answer."""
        held = next((h for h in self.ask_first if h[0] == request.kind and h[1] in (None, request.agent)), None)
        if held is not None:
            self.ask_first.remove(held)
            request.prompt = f"{held[2]} {request.prompt}".strip()
        for rule in self.rules if held is None else ():
            if rule.matches(request):
                return Decision.approve(by=DecidedBy.SESSION_RULE, rule=rule,
                                        note=f"rule: {rule.describe()}")
        if self.mode == "ask":
            return None
        if request.kind == RequestKind.SPEAKER:
            return Decision.choose(request.candidates[0], by=DecidedBy.POLICY,
                                   note=f"--approve {self.mode}")
        if self.mode == "none" and request.kind in (RequestKind.CODE, RequestKind.TOOL_CALL):
            return Decision.skip(by=DecidedBy.POLICY, note="--approve none runs no code or tools")
        return Decision.approve(by=DecidedBy.POLICY, note=f"--approve {self.mode}")

    def check(self, request: DecisionRequest, decision: Decision, agents: Iterable[str] = ()) -> None:
        """Raise InvalidDecision, saying why, when `decision` cannot answer `request` (its kind,
        empty text, a rule, a tool call's arguments, a speaker, an inject's target among `agents`,
        the asking chat's): a view's answer is refused at once for it, not asked again."""
        allowed = request.allowed or ALLOWED[request.kind]
        if decision.kind not in allowed:
            names = ", ".join(k.value for k in allowed)
            raise InvalidDecision(f"{decision.kind.value} does not answer a {request.kind.value} "
                                  f"request; choose one of: {names}")
        if decision.kind in (DecisionKind.EDIT, DecisionKind.REPLY, DecisionKind.INJECT,
                             DecisionKind.REJECT) and not (decision.content or "").strip():
            raise InvalidDecision(f"an empty {decision.kind.value} has nothing to send; "
                                  f"write some text or choose another action")
        if decision.rule is not None and not decision.rule.matches(request):
            # a standing rule is granted by answering a request it covers, never smuggled in with another
            raise InvalidDecision(f"the rule ({decision.rule.describe()}) does not cover this "
                                  f"{request.kind.value} request; approve it without a rule or with one that covers it")
        if decision.kind == DecisionKind.EDIT and request.kind == RequestKind.TOOL_CALL:
            self._check_arguments(request, decision.content or "")
        if decision.kind == DecisionKind.CHOOSE_SPEAKER and decision.target not in request.candidates:
            raise InvalidDecision(f"{decision.target!r} cannot speak next; candidates: "
                                  f"{', '.join(request.candidates)}")
        if decision.kind == DecisionKind.INJECT:
            problem = inject_problem(decision.content, decision.target, agents)
            if problem:
                raise InvalidDecision(problem)

    @staticmethod
    def _check_arguments(request: DecisionRequest, text: str) -> None:
        """An edit of a tool call's arguments must be a JSON object that fits the tool's schema."""
        if len(request.tool_calls) != 1:
            raise InvalidDecision("only a request for one tool call can have its arguments edited")
        call = request.tool_calls[0]
        info = request.tool_info
        problem = arguments_problem(text, info.parameters if info is not None else None, call.name)
        if problem is None and same_arguments(call.arguments, text):
            problem = "the arguments are unchanged; approve the call as it is instead"
        if problem is not None:
            raise InvalidDecision(f"edit of {call.name}'s arguments not sent: {problem}")

    def remember(self, request: DecisionRequest, decision: Decision) -> ApprovalRule | None:
        """Store the standing rule an approval carries (session or explicit rule).

        For this session, a tool call is approved per tool: approving `add` does not approve
        `delete_file`, even from the same agent."""
        if decision.kind != DecisionKind.APPROVE or decision.by != DecidedBy.HUMAN:
            return None
        rule = None
        if decision.scope == Scope.RULE and decision.rule is not None:
            rule = decision.rule
        elif decision.scope == Scope.SESSION:
            tools = {c.name for c in request.tool_calls} if request.kind == RequestKind.TOOL_CALL else set()
            rule = ApprovalRule(kind=request.kind, agent=request.agent,
                                tool=next(iter(tools)) if len(tools) == 1 else None)
        if rule is not None:
            self.add_rule(rule)
        return rule
