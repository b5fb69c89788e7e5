"""Human renderings of command results (rich). JSON output never goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backend.models import (
    Decision,
    Event,
    Execution,
    LogLine,
    Task,
    TaskState,
    TaskStatsSummary,
    TaskStatus,
)
from backend.state_style import STATE_STYLE
from backend.units import human_age, human_size


def state_text(state: TaskState) -> Text:
    return Text(state.value, style=STATE_STYLE.get(state, ""))


def tasks_table(tasks: Sequence[Task]) -> RenderableType:
    if not tasks:
        return Text("no tasks (create one with: corral create-task NAME)", style="dim")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("ID", "NAME", "STATE", "AGENT", "BRANCH", "IMAGE", "AGE"):
        table.add_column(col)
    for t in tasks:
        table.add_row(
            t.id[:8], t.name, state_text(t.state), t.agent_state.value, t.branch, t.image,
            human_age(t.created_at),
        )  # fmt: skip
    return table


def task_detail(task: Task) -> RenderableType:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, Any]] = [
        ("task", f"{task.name} ({task.id})"),
        ("state", state_text(task.state)),
        (
            "agent",
            f"{task.agent_state.value}"
            + (f" — {task.spec.agent_cmd}" if task.spec.agent_cmd else ""),
        ),
        ("branch", f"{task.branch} (from {task.base_ref} @ {task.base_commit[:10]})"),
        ("repo", task.repo),
        ("image", task.image),
        (
            "limits",
            f"{task.spec.cpus} cpus, {task.spec.memory} memory, {task.spec.pids_limit} pids, network {task.spec.network}",
        ),
        ("container", (task.container_id or "-")[:12]),
        ("created", f"{task.created_at:%Y-%m-%d %H:%M:%S} ({human_age(task.created_at)} ago)"),
    ]
    if task.description:
        rows.append(("description", task.description))
    if task.reason:
        rows.append(("reason", Text(task.reason, style="red")))
    for k, v in rows:
        table.add_row(k, v)
    return table


def status_view(st: TaskStatus) -> RenderableType:
    extra = Table.grid(padding=(0, 2))
    extra.add_column(style="bold")
    extra.add_column()
    extra.add_row("sandbox", st.container_status or "gone")
    agent = "running" if st.agent_running else "not running"
    if st.agent_exit_code is not None and not st.agent_running:
        agent += f" (last exit code {st.agent_exit_code})"
    extra.add_row("agent process", agent)
    extra.add_row("checkpoints", str(st.checkpoints))
    if st.takeover:
        extra.add_row("take over", " ".join(st.takeover) + "   (ctrl-b d hands it back)")
    return Group(task_detail(st.task), extra, Text(""), events_table(st.recent_events))


def events_table(events: Sequence[Event]) -> RenderableType:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("TIME", "EVENT", "DETAIL"):
        table.add_column(col)
    for e in events:
        detail = ", ".join(f"{k}={v}" for k, v in e.payload.items())
        table.add_row(f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.kind, detail)
    return table


def executions_table(rows: Sequence[Execution]) -> RenderableType:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("#", "TIME", "EXIT", "DURATION", "COMMAND"):
        table.add_column(col)
    for x in rows:
        code = "timeout" if x.timed_out else str(x.exit_code)
        style = "green" if x.exit_code == 0 else "red"
        table.add_row(str(x.id), f"{x.created_at:%H:%M:%S}", Text(code, style=style),
                      f"{x.duration_ms} ms", x.command)  # fmt: skip
    return table


def decisions_view(rows: Sequence[Decision]) -> RenderableType:
    if not rows:
        return Text("no decisions yet (add one with --add TEXT)", style="dim")
    return Group(*(Text(f"{d.created_at:%Y-%m-%d %H:%M}  {d.text}") for d in rows))


def log_lines(lines: Sequence[LogLine], timestamps: bool = False) -> RenderableType:
    out = Text()
    for ln in lines:
        if timestamps:
            out.append(f"{ln.time:%H:%M:%S} ", style="dim")
        if ln.source != "agent":
            out.append(f"[{ln.source}] ", style="magenta" if ln.source == "exec" else "blue")
        out.append(ln.text + "\n")
    return out


def stats_view(summary: TaskStatsSummary) -> RenderableType:
    counts = "  ".join(f"{k}: {v}" for k, v in sorted(summary.by_state.items())) or "no tasks"
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("NAME", "STATE", "AGE", "CHECKPOINTS", "EXECS", "CPU PEAK", "MEM PEAK"):
        table.add_column(col)
    for r in summary.tasks:
        table.add_row(
            r.name, state_text(r.state), human_age_secs(r.age_seconds), str(r.checkpoints),
            str(r.executions), f"{r.cpu_peak_percent:.1f}%" if r.cpu_peak_percent is not None else "-",
            human_size(r.memory_peak_bytes) if r.memory_peak_bytes is not None else "-",
        )  # fmt: skip
    return Group(Text(counts, style="bold"), table)


def human_age_secs(secs: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"
