"""AtoM's own database: its settings (config.php, parsed), connections (PyMySQL, locally or
through a host's SSH master), the job queries, and the watch that polls them."""
