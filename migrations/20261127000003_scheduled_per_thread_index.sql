-- Every inbox row counts the thread's pending scheduled messages; without this index that count
-- reads every message of the thread, on every event of a long thread.
CREATE INDEX messages_thread_scheduled_idx ON messages (thread_id) WHERE status = 'scheduled';
