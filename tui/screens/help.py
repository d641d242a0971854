"""Every key, screen by screen, read from the same bindings the footer and the
command palette use (so the three can never disagree)."""

from __future__ import annotations

from typing import Iterable, List, Tuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {"question_mark": "?", "plus": "+", "minus": "-", "escape": "Esc", "space": "Space",
             "enter": "Enter", "tab": "Tab"}


def key_label(keys: str) -> str:
    out = []
    for key in keys.split(","):
        key = key.strip()
        name = KEY_NAMES.get(key, key)
        if name.startswith("ctrl+"):
            name = "Ctrl+" + name[5:].upper()
        elif len(name) > 1 and name[0] == "f" and name[1:].isdigit():
            name = name.upper()
        out.append(name)
    return " / ".join(out)


def binding_rows(bindings: Iterable) -> List[Tuple[str, str]]:
    rows = []
    for b in bindings:
        if not isinstance(b, Binding):
            b = Binding(*b)
        rows.append((key_label(b.key), b.tooltip or b.description))
    return rows


def help_sections(app) -> List[Tuple[str, List[Tuple[str, str]]]]:
    from .compare import CompareScreen
    from .live import LiveScreen
    from .picker import PickerScreen

    everywhere = binding_rows(app.BINDINGS) + [("Ctrl+P", "Command palette: every action by name")]
    return [
        ("Everywhere", everywhere),
        ("Live run", binding_rows(LiveScreen.BINDINGS)),
        ("Scenario picker", binding_rows(PickerScreen.BINDINGS) + [
            ("↑ / ↓", "Choose the workload"), ("Tab / Shift+Tab", "Next / previous field"),
            ("← / →", "Change a choice (executor, start method)"), ("Enter", "Start the run")]),
        ("Compare", binding_rows(CompareScreen.BINDINGS)),
        ("Panels", [("Tab", "Focus the next panel"), ("↑ / ↓ / PgUp / PgDn", "Scroll the focused panel")]),
    ]


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", tooltip="Close the help")]

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("execscope — keys\n", style="bold")
        for title, rows in help_sections(self.app):
            text.append("\n%s\n" % title, style="bold underline")
            for keys, what in rows:
                text.append("  %-18s" % keys, style="bold cyan")
                text.append(what + "\n")
        text.append("\nColours are never the only signal: ▶ running  ‖ blocked  ⇡ pickling  "
                    "⚠ warning  ✗ failed  ✓ done.", style="dim")
        with VerticalScroll(id="help-box"):
            yield Static(text, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
