"""The floor for first paint: a Textual app that paints one line.

`benchmarks/record.py` and `benchmarks/bench_first_paint.py` start it in the same terminal
harness, the same way and with the same Python as the console, and time it to its line on
screen; the console's first paint is given as a multiple of this one's.
"""

from textual.app import App, ComposeResult
from textual.widgets import Static

LINE = "minimal Textual app: first paint"


class MinimalApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(LINE)


if __name__ == "__main__":
    MinimalApp().run()
