-- Wakes every dispatcher listening on this database when a delivery is scheduled, rescheduled,
-- approved or requeued (a dispatcher's own retries wake it by its timer, and a delivery handed
-- back at shutdown notifies by itself). Identical notifications of one transaction are sent once,
-- so a post with many deliveries (or a bulk insert) sends one.
CREATE FUNCTION herald_due_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('herald_due', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER deliveries_due_notify
    AFTER INSERT OR UPDATE OF status, due_at ON deliveries
    FOR EACH ROW
    WHEN (NEW.status = 'scheduled')
    EXECUTE FUNCTION herald_due_notify();
