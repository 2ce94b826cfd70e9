"""The daemon: scheduler jobs, replicas, the lock, the HTTP server, /metrics and logging."""
