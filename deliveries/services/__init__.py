"""Database work of deliveries: claim, record, schedule, resend, pause, expire, purge."""
