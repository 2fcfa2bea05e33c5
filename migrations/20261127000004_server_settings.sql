-- Settings the server generates once and keeps (the Pusher key and secret when none are
-- configured), so a restart does not strand open browser tabs on a key that changed.
CREATE TABLE server_settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
