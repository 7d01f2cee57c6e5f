"""Editing a tool call's arguments: JSON in a TextArea, checked against the tool's schema, then the
diff of the model's arguments and yours, then run.

The tool's description and parameters stay above the editor. Review (ctrl+s) refuses text that is
not a JSON object, that breaks the schema, or that holds the same arguments, saying what to fix; the
engine checks the edit again, with the same words, before the call runs.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from tuiagents.engine.decisions import ToolInfo
from tuiagents.engine.tool_args import arguments_diff, arguments_problem, pretty_arguments, same_arguments
from tuiagents.ui.safe_text import inert
from tuiagents.ui.screens.edit_screen import EditScreen
from tuiagents.ui.widgets.tool_about import tool_about


class ToolArgsScreen(EditScreen):
    """Edit the JSON arguments of one call of `info`'s tool; returns the edited text or None."""

    CSS_PATH = "edit_screen.tcss"

    def __init__(self, arguments: str, info: ToolInfo | None, name: str, title: str) -> None:
        super().__init__(pretty_arguments(arguments), title, language="json", send_label="Run with these arguments")
        self.arguments = arguments
        self.info = info
        self.tool_name = name

    def about(self) -> RenderableType:
        """The tool's description and parameters, above the editor."""
        return tool_about(self.info, self.tool_name)

    def problem(self, text: str) -> str | None:
        """Not a JSON object, against the schema, or the model's arguments again: what to fix."""
        problem = arguments_problem(text, self.info.parameters if self.info is not None else None, self.tool_name)
        if problem is not None:
            return f"Cannot run: {problem}."
        if same_arguments(self.arguments, text):
            return "Nothing changed: edit the arguments, or press Esc and run the call as it is."
        return None

    def diff(self, text: str) -> RenderableType:
        """The model's arguments against yours, both laid out the same way."""
        out = Text(f"{inert(self.tool_name)}: the model's arguments → yours\n", style="bold")
        for line in arguments_diff(self.arguments, text):
            style = ("green" if line.startswith("+") else "red" if line.startswith("-")
                     else "cyan" if line.startswith("@@") else "dim")
            out.append(inert(line) + "\n", style)
        return out
