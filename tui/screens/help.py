"""Every key, screen by screen, read from the same bindings the footer and the
command palette use (so the three can never disagree)."""

from __future__ import annotations

from typing import Iterable, List, Tuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

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
    live = next((s for s in reversed(app.screen_stack) if isinstance(s, LiveScreen)), None)
    live_rows = binding_rows(LiveScreen.BINDINGS)
    if live is not None and live.source != "runner":
        # a program or an attached process: only the keys that apply to it
        from .live import RUNNER_ONLY

        live_rows = binding_rows(b for b in LiveScreen.BINDINGS
                                 if b.action.split("(")[0] not in RUNNER_ONLY)
        live_rows.append(("p r c x + - t", "built-in workloads only: off while %s"
                          % ("a program runs" if live.source == "program" else "watching a process")))
    return [
        ("Everywhere", everywhere),
        ("Live run", live_rows),
        ("Scenario picker", binding_rows(PickerScreen.BINDINGS) + [
            ("↑ / ↓", "Choose the workload"), ("Tab / Shift+Tab", "Next / previous field"),
            ("← / →", "Change a choice (executor, start method)"), ("Enter", "Start the run")]),
        ("Compare", binding_rows(CompareScreen.BINDINGS)),
        ("Panels", [("Tab", "Focus the next panel"), ("↑ / ↓ / PgUp / PgDn", "Scroll the focused panel")]),
    ]


# Every glyph the live screens draw, with what it means (colour is never the only signal).
LEGEND = (("▶", "running"), ("·", "idle"), ("◌", "starting"), ("‖", "blocked on a task"),
          ("⇡", "pickling / sending"), ("⇣", "receiving / unpickling"),
          ("◐", "running but mostly waiting for the GIL"), ("✓", "completed"), ("■", "stopped"),
          ("◷", "timed out"), ("✗", "failed / critical"), ("⚠", "warning"), ("»", "info"),
          ("○", "alert cleared"), ("⊘", "not measurable in this mode"))


def help_text(app, width: int = 100) -> Text:
    sections = help_sections(app)
    key_w = max(len(keys) for _, rows in sections for keys, _ in rows) + 2
    text = Text()
    text.append("execscope — keys", style="bold")
    text.append("   (Esc, ? or q closes this)\n", style="dim")
    for title, rows in sections:
        text.append("\n%s\n" % title, style="bold underline")
        for keys, what in rows:
            text.append("  " + keys.ljust(key_w), style="bold cyan")
            text.append(what + "\n")
    text.append("\nSymbols (colours are never the only signal)\n", style="bold underline")
    col_w = max(len(g) + 1 + len(w) for g, w in LEGEND) + 3
    per_line = max(1, (width - 4) // col_w)
    for i in range(0, len(LEGEND), per_line):
        text.append("  ")
        for glyph, what in LEGEND[i:i + per_line]:
            text.append(glyph, style="bold")
            text.append((" " + what).ljust(col_w - 1))
        text.rstrip()
        text.append("\n")
    text.rstrip()
    return text


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", tooltip="Close the help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self.app, min(100, self.app.size.width) - 4), markup=False)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
