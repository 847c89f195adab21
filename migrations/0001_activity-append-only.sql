-- The activity stream is an audit trail: rows are only ever inserted. This trigger makes that a rule of the
-- database, not only of the code. Two exceptions keep referential actions working: deleting a user may null
-- `actor_id` (ON DELETE SET NULL), and deleting a whole organization cascades (both run inside a
-- foreign-key trigger, so pg_trigger_depth() > 1).
CREATE FUNCTION activity_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION 'activity_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER activity_events_append_only
  BEFORE UPDATE OR DELETE ON activity_events
  FOR EACH ROW EXECUTE FUNCTION activity_events_append_only();
