"""The command palette (ctrl+p), built from the same registry as the command bar, with
namespaced titles ("task: create-task"). Choosing a command puts it in the command bar,
filled with the selected task where the command takes one, ready to edit and run."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.app import CorralApp


def _title(group: str, name: str) -> str:
    return f"{group}: {name}"


class RegistryCommands(Provider):
    def _prefill(self, name: str) -> None:
        cast("CorralApp", self.app).prefill_command(name)

    async def discover(self) -> Hits:
        from backend.commands.registry import commands

        for cmd in commands():
            yield DiscoveryHit(
                _title(cmd.group, cmd.name), partial(self._prefill, cmd.name), help=cmd.summary
            )

    async def search(self, query: str) -> Hits:
        from backend.commands.registry import commands

        matcher = self.matcher(query)
        for cmd in commands():
            title = _title(cmd.group, cmd.name)
            score = max(matcher.match(title), matcher.match(cmd.summary) * 0.5)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._prefill, cmd.name),
                    text=title,
                    help=cmd.summary,
                )
