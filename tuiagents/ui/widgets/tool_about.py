"""What a person deciding on a tool call sees of the tool: its description and its parameters, the
same in the request box and in the arguments editor."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from tuiagents.engine.decisions import ToolInfo
from tuiagents.engine.tool_args import parameters_summary
from tuiagents.ui.safe_text import inert


def tool_about(info: ToolInfo | None, name: str) -> RenderableType:
    """The tool's description and one line per parameter (or that no agent has the tool)."""
    if info is None:
        return Text(f"No agent has a tool named {inert(name)}: running it returns an error to the model.",
                    style="bold yellow")
    lines: list[RenderableType] = [Text.assemble((f"⚙ {inert(info.name)}", "bold"), "  ",
                                                 (inert(info.description) or "(no description)", "italic"))]
    params = parameters_summary(info.parameters)
    lines += [Text(f"  {inert(p)}", style="dim") for p in params] or [Text("  (no parameters)", style="dim")]
    return Group(*lines)
