"""The scenario picker: workload, executor, start method, workers, size, parameters.

Keyboard only: ↑/↓ choose the workload, Tab walks the fields, ←/→ change a
choice, Enter starts the run, Ctrl+O compares, Esc goes back.  The form is
checked with the session's own validation before the picker closes, so a bad
value is shown here, next to the field, and never reaches a run.
"""

from __future__ import annotations

import multiprocessing
import sys
from typing import Dict, Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from execscope import families
from execscope.errors import UsageError
from execscope.interpreters import probe
from execscope.model import RunConfig

from execscope.tour import claim_lines

from ..widgets.cycler import Cycler


def _same(param, raw: str) -> bool:
    """Is ``raw`` the parameter's default (so it need not be passed)?"""
    try:
        return param.parse(raw) == param.default
    except Exception:
        return False


# The command line's option names, as the picker's fields are labelled.
FIELD_WORDS = (("--param ", ""), ("--start-method", "start method"), ("--duration", "duration"),
               ("--workers", "workers"), ("--tasks", "tasks"), ("--executor", "executor"),
               ("--timeout", "timeout"), ("--python", "python"))


def form_words(message: str) -> str:
    """A validation message in the form's words, not the command line's.

    >>> form_words("--workers 0: must be at least 1")
    'workers 0: must be at least 1'
    >>> form_words("--param size=-3: must be >= 1")
    'size=-3: must be >= 1'
    >>> form_words("give --tasks or --duration, not both")
    'give tasks or duration, not both'
    """
    for option, label in FIELD_WORDS:
        message = message.replace(option, label)
    return message


def could_not_check(exc: BaseException) -> str:
    """One line for an unexpected failure while checking the form: what failed, not a traceback.

    >>> could_not_check(OSError(2, "No such file or directory"))
    'could not check this run: No such file or directory'
    >>> could_not_check(RuntimeError())
    'could not check this run (RuntimeError)'
    """
    words = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0:1]
    words = words if isinstance(words, str) else (words[0] if words else "")
    if not words:
        return "could not check this run (%s)" % type(exc).__name__
    return "could not check this run: %s" % (words if len(words) <= 120 else words[:119] + "…")


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
                yield Static(id="picker-note", markup=False)
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
            # back on the run's own workload, its own values; any other starts from its defaults
            self._show_workload(name, keep_params=self.current is not None and name == self.current.workload)

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
        method.set_class(not families.takes_start_method(self.query_one("#executor", Cycler).value), "-disabled")
        method.can_focus = not method.has_class("-disabled")
        method.refresh()

    def _python_version(self) -> tuple:
        """The version of the interpreter the runs will use (the executors it has)."""
        python = self.current.python if self.current is not None else None
        if python is None:
            return tuple(sys.version_info[:2])
        try:
            return tuple(probe(python)["version"][:2])
        except UsageError:
            return tuple(sys.version_info[:2])  # the run itself will say what is wrong with it

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
        before = executor.value
        executor.set_choices(families.offered(w.executors, self._python_version()))
        self._sync_start_method()
        tasks = self.query_one("#field-tasks", Input)
        tasks.placeholder = "default %d" % w.default_tasks
        notes = []
        # the run's own workload keeps the run's sizes; another starts from its own
        # defaults (io's 8 workers and 240 tasks mean nothing for 8 MiB tasks), and says so
        current = self.current
        cleared = []
        for key in ("workers", "tasks", "duration"):
            value = getattr(current, key) if current is not None else None
            if key == "tasks" and current is not None and current.duration:
                value = None
            if not keep_params and value is not None:
                cleared.append(key)
                value = None
            field = self.query_one("#field-" + key, Input)
            field.value = "" if value is None else ("%g" % value if isinstance(value, float) else str(value))
        if cleared:
            notes.append("%s: %s's defaults, not %s's" % (" and ".join(cleared), w.name, current.workload))
        if executor.value != before:
            notes.append("executor set to %s: %s runs under %s only"
                         % (executor.value, w.name, " or ".join(w.executors)))
        params = self.query_one("#params", Vertical)
        params.remove_children()
        given: Dict[str, str] = dict(self.current.params) if (keep_params and self.current) else {}
        fields = []
        for p in w.params:
            value = given.get(p.name, p.default)
            kind = "integer" if p.type is int else ("number" if p.type is float else "text")
            hint = p.help + (" (%s)" % "/".join(str(c) for c in p.choices) if p.choices else "")
            fields.append(self._field("param-" + p.name, p.name, str(p.default), value, kind))
            fields.append(Static(hint, classes="param-help", markup=False))
        if fields:
            params.mount(*fields)
        self.query_one("#picker-error", Static).update("")
        self.query_one("#picker-note", Static).update(Text("· " + "; ".join(notes), style="yellow")
                                                      if notes else "")

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
            start_method=self.query_one("#start-method", Cycler).value if families.takes_start_method(executor) else None,
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
            self._error(form_words(str(exc)))
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
            self.app.call_from_thread(self._error, form_words(str(exc)))
            return
        except Exception as exc:
            self.app.call_from_thread(self._error, could_not_check(exc))
            return
        self.app.call_from_thread(self.dismiss, (what, config))

    def _error(self, message: str) -> None:
        self.query_one("#picker-error", Static).update(Text("✗ " + message, style="bold red"))
        self.app.bell()
