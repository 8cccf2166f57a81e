"""PostgreSQL wire protocol v3: sans-IO codec and connection state machine."""
