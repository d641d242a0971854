"""The scenario picker: workload, executor, start method, workers, size, parameters.

Keyboard only: ↑/↓ choose the workload, Tab walks the fields, ←/→ change a
choice, Enter starts the run, Ctrl+O compares, Esc goes back.  The form is
checked with the session's own validation before the picker closes, so a bad
value is shown here, next to the field, and never reaches a run.
"""

from __future__ import annotations

import multiprocessing
from typing import Dict, Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from execscope.errors import UsageError
from execscope.model import RunConfig

from execscope.tour import claim_lines

from ..widgets.cycler import Cycler


def _same(param, raw: str) -> bool:
    """Is ``raw`` the parameter's default (so it need not be passed)?"""
    try:
        return param.parse(raw) == param.default
    except Exception:
        return False


def _catalog():
    from execscope.workloads import catalog

    return catalog()


class PickerScreen(Screen):
    BINDINGS = [
        Binding("escape", "cancel", "Back", tooltip="Close the picker without starting anything"),
        Binding("ctrl+s,f5", "start", "Start", tooltip="Start the chosen scenario (Enter works in any field)"),
        Binding("ctrl+o,f6", "compare", "Compare", tooltip="Run the chosen workload under every executor"),
    ]

    def __init__(self, current: Optional[RunConfig] = None) -> None:
        super().__init__()
        self.workloads = _catalog()
        self.current = current if current and current.workload in self.workloads else None
        self.workload_name = self.current.workload if self.current else "cpu"
        self.start_methods = multiprocessing.get_all_start_methods()

    def compose(self) -> ComposeResult:
        yield Static(" Scenario picker ", id="picker-title")
        with Horizontal(id="picker-body"):
            options = [Option(name, id=name) for name in self.workloads]
            yield OptionList(*options, id="workload-list")
            with VerticalScroll(id="picker-form"):
                yield Static(id="summary", markup=False)
                cfg = self.current
                yield Cycler("executor", ("serial", "thread", "process"),
                             cfg.executor if cfg else "thread", id="executor")
                yield Cycler("start method", self.start_methods,
                             (cfg.start_method if cfg and cfg.start_method else
                              multiprocessing.get_start_method(allow_none=False)),
                             id="start-method", note="process pools only")
                yield self._field("workers", "workers", "default", cfg.workers if cfg else None, "integer")
                yield self._field("tasks", "tasks", "workload default",
                                  cfg.tasks if cfg and not cfg.duration else None, "integer")
                yield self._field("duration", "duration s", "or seconds", cfg.duration if cfg else None, "number")
                yield Vertical(id="params")
                yield Static(id="picker-error", markup=False)
                yield Static("Enter start · Ctrl+O compare · Tab next field · ←/→ change · Esc back",
                             classes="hint")
                yield Static(id="about", markup=False)
        yield Footer()

    @staticmethod
    def _field(key: str, label: str, placeholder: str, value, kind: str = "text",
               help_text: str = "") -> Horizontal:
        shown = "" if value is None else ("%g" % value if isinstance(value, float) else str(value))
        return Horizontal(
            Label(label, classes="field-label"),
            Input(shown, placeholder=placeholder, type=kind, id="field-" + key, classes="field-input"),
            Label(help_text, classes="field-help"),
            classes="field",
        )

    def on_mount(self) -> None:
        self.query_one("#picker-form").can_focus = False  # Tab goes field to field
        names = list(self.workloads)
        listing = self.query_one("#workload-list", OptionList)
        listing.highlighted = names.index(self.workload_name)
        listing.focus()
        self._show_workload(self.workload_name, keep_params=True)

    # -- workload details --------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#workload-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name and name != self.workload_name:
            self.workload_name = name
            self._show_workload(name, keep_params=False)

    @on(OptionList.OptionSelected, "#workload-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.action_start()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    @on(Cycler.Changed, "#executor")
    def _executor_changed(self, event: Cycler.Changed) -> None:
        self._sync_start_method()

    def _sync_start_method(self) -> None:
        method = self.query_one("#start-method", Cycler)
        method.set_class(self.query_one("#executor", Cycler).value != "process", "-disabled")
        method.can_focus = not method.has_class("-disabled")
        method.refresh()

    def _show_workload(self, name: str, keep_params: bool) -> None:
        w = self.workloads[name]
        summary = Text()
        summary.append(w.name, style="bold")
        summary.append(" — " + w.summary, style="bold")
        summary.append("  " + " ".join(w.claims), style="cyan")
        self.query_one("#summary", Static).update(summary)
        about = Text()
        about.append(w.explanation + "\n\n")
        for line in claim_lines(w.claims):
            about.append(line + "\n", style="cyan")
        about.append("\nExpect: ", style="bold")
        about.append(w.expect)
        self.query_one("#about", Static).update(about)
        executor = self.query_one("#executor", Cycler)
        executor.set_choices(w.executors)
        self._sync_start_method()
        tasks = self.query_one("#field-tasks", Input)
        tasks.placeholder = "default %d" % w.default_tasks
        params = self.query_one("#params", Vertical)
        params.remove_children()
        given: Dict[str, str] = dict(self.current.params) if (keep_params and self.current) else {}
        fields = []
        for p in w.params:
            value = given.get(p.name, p.default)
            kind = "integer" if p.type is int else ("number" if p.type is float else "text")
            hint = p.help + (" (%s)" % "/".join(str(c) for c in p.choices) if p.choices else "")
            fields.append(self._field("param-" + p.name, p.name, str(p.default), value, kind, hint))
        if fields:
            params.mount(*fields)
        self.query_one("#picker-error", Static).update("")

    # -- building the config -----------------------------------------------------

    def form_config(self) -> RunConfig:
        """The RunConfig the form describes (raises UsageError on a malformed number)."""
        w = self.workloads[self.workload_name]

        def number(key: str, cast):
            raw = self.query_one("#field-" + key, Input).value.strip()
            if not raw:
                return None
            try:
                return cast(raw)
            except ValueError:
                raise UsageError("%s: %r is not a number" % (key, raw)) from None

        executor = self.query_one("#executor", Cycler).value
        params = {}
        for p in w.params:
            raw = self.query_one("#field-param-" + p.name, Input).value.strip()
            if raw and not _same(p, raw):
                params[p.name] = raw
        return RunConfig(
            workload=w.name,
            executor=executor,
            start_method=self.query_one("#start-method", Cycler).value if executor == "process" else None,
            workers=None if executor == "serial" else number("workers", int),
            tasks=number("tasks", int),
            duration=number("duration", float),
            params=params,
            python=self.current.python if self.current else None,
        )

    def action_start(self) -> None:
        self._check("run")

    def action_compare(self) -> None:
        self._check("compare")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _check(self, what: str) -> None:
        try:
            config = self.form_config()
        except UsageError as exc:
            self._error(str(exc))
            return
        self._validate(what, config)

    @work(thread=True, exclusive=True, group="picker-validate")
    def _validate(self, what: str, config: RunConfig) -> None:
        from execscope.validate import validate

        try:
            if what == "compare":
                validate(config.with_(executor="thread", start_method=None, workers=None)
                         if "thread" in self.workloads[config.workload].executors else config)
            else:
                validate(config)
        except UsageError as exc:
            self.app.call_from_thread(self._error, str(exc))
            return
        except Exception as exc:
            self.app.call_from_thread(self._error, "cannot check this run: %s" % exc)
            return
        self.app.call_from_thread(self.dismiss, (what, config))

    def _error(self, message: str) -> None:
        self.query_one("#picker-error", Static).update(Text("✗ " + message, style="bold red"))
        self.app.bell()
