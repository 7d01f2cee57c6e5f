"""How tuiagents shows a message, in one place, below the session and UI layers.

`markdown` parses a message with the rules every view follows (raw HTML is text, a single newline
is a line break, entities stay as typed, every character inert or visible) and renders it to HTML;
`message` builds the Rich renderables the app and the request box show, and cuts long text for the
view. Depends only on rich, pygments and markdown-it (which Textual brings) and `tuiagents.text`.
"""
