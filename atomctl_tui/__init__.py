"""atomctl-tui: a terminal console for AtoM's Gearman job server and atom-worker units.

Modules directly in this package are backends and never import textual; the Textual app
lives in ``atomctl_tui.ui`` and the sandboxed test environment in ``atomctl_tui.lab``.
"""

__version__ = "0.1.0"
