"""Growing a scroll view without a layout pass.

Textual's `virtual_size` is a layout reactive: every assignment re-lays-out the whole screen
(about 4 ms here), and a log taking 30 batches a second would pay that 30 times. When the
scrollbars neither appear nor disappear, nothing outside the widget moves, so the size is set
quietly and only the scrollbars are told."""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


def _needs_bars(widget: Widget, size: Size) -> tuple[bool, bool]:
    view = widget.scrollable_content_region.size
    styles = widget.styles
    vertical = styles.overflow_y == "scroll" or (
        styles.overflow_y == "auto" and size.height > view.height
    )
    horizontal = styles.overflow_x == "scroll" or (
        styles.overflow_x == "auto" and size.width > view.width
    )
    return vertical, horizontal


def set_virtual_size(widget: Widget, size: Size) -> None:
    old = widget.virtual_size
    if size == old:
        return
    if not widget.is_mounted or _needs_bars(widget, size) != _needs_bars(widget, old):
        widget.virtual_size = size  # the scrollbars change: a real layout is needed
        return
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)  # scrollbar thumbs and clamped scroll offsets
    widget.refresh()
