"""The Journal pane's parts: the line view, the filter bar, the save and scope dialogs."""
