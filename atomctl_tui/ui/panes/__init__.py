"""One pane per module: Job server, Queues, Workers, Journal."""
