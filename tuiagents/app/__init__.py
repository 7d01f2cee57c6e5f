"""The composition root: the `tuiagents` command and everything that starts a run, a replay or a resume.

Only this package imports both the UI (or the console) and the session layer and wires them
together; the layers below get what they need passed in. `tests/test_architecture.py` checks it.
"""
