-- AlterTable
ALTER TABLE "webhook_deliveries" ADD COLUMN     "last_error" TEXT,
ADD COLUMN     "lease_token" UUID;

-- AlterTable
ALTER TABLE "webhook_endpoints" ADD COLUMN     "disabled_at" TIMESTAMPTZ(3),
ADD COLUMN     "progress_interval_seconds" INTEGER NOT NULL DEFAULT 5;

-- CreateTable
CREATE TABLE "webhook_progress_marks" (
    "endpoint_id" UUID NOT NULL,
    "evaluation_id" UUID NOT NULL,
    "notified_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_progress_marks_pkey" PRIMARY KEY ("endpoint_id","evaluation_id")
);

-- CreateIndex
CREATE INDEX "webhook_progress_marks_evaluation_id_idx" ON "webhook_progress_marks"("evaluation_id");

-- AddForeignKey
ALTER TABLE "webhook_progress_marks" ADD CONSTRAINT "webhook_progress_marks_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_progress_marks" ADD CONSTRAINT "webhook_progress_marks_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "evaluations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Webhook outbox. A state change of an evaluation writes its webhook messages (and one delivery
-- per subscribed endpoint) in the transaction that changes it, whichever code path changes it:
-- triggers on `evaluations` call these functions. Application code enqueues other events
-- (webhook.test, alert.fired) with evalgraph_enqueue_webhook in its own transactions.

-- A time-ordered uuid (version 7: milliseconds since the epoch, then random bits), so that rows
-- written here sort by creation like the ones Prisma writes (PostgreSQL has uuidv7() only from 18).
CREATE FUNCTION evalgraph_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(r.h, 14, 3) || substr(r.h, 17, 16))::uuid
    FROM (SELECT replace(gen_random_uuid()::text, '-', '') AS h) AS r
$$;

-- ISO 8601 in UTC with milliseconds, whatever the session's time zone.
CREATE FUNCTION evalgraph_ts(p_at timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- A Relay global id, as the API shows it (base64 of "Type:uuid").
CREATE FUNCTION evalgraph_gid(p_type text, p_id uuid) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(convert_to(p_type || ':' || p_id::text, 'UTF8'), 'base64')
$$;

-- Writes one message of `p_event` with `p_data` and a delivery to each target endpoint: the
-- enabled endpoints of the project subscribed to the event, or those named in `p_endpoints`.
-- Returns the message id (the `webhook-id`), or NULL when no endpoint is to receive it.
CREATE FUNCTION evalgraph_enqueue_webhook(p_project uuid, p_event text, p_data jsonb, p_endpoints uuid[] DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  msg text;
  targets uuid[];
BEGIN
  SELECT array_agg(e.id) INTO targets FROM webhook_endpoints e
   WHERE e.project_id = p_project AND e.enabled
     AND CASE WHEN p_endpoints IS NULL THEN p_event = ANY(e.events) ELSE e.id = ANY(p_endpoints) END;
  IF targets IS NULL THEN
    RETURN NULL;
  END IF;
  msg := 'msg_' || replace(evalgraph_uuid7()::text, '-', '');
  INSERT INTO webhook_messages (id, project_id, event_type, payload, created_at)
  VALUES (msg, p_project, p_event,
          jsonb_build_object('type', p_event, 'timestamp', evalgraph_ts(clock_timestamp()), 'data', p_data)::text,
          clock_timestamp());
  INSERT INTO webhook_deliveries (id, message_id, endpoint_id, next_attempt_at, created_at)
  SELECT evalgraph_uuid7(), msg, t, clock_timestamp(), clock_timestamp() FROM unnest(targets) AS t;
  RETURN msg;
END $$;

-- The evaluation as webhook payloads show it (no judge spending: that needs the costs role).
CREATE FUNCTION evalgraph_evaluation_json(e evaluations) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', evalgraph_gid('Evaluation', e.id),
    'projectId', evalgraph_gid('Project', e.project_id),
    'batchId', CASE WHEN e.batch_id IS NULL THEN NULL ELSE evalgraph_gid('EvaluationBatch', e.batch_id) END,
    'name', e.name,
    'status', e.status,
    'resultCounts', jsonb_build_object('total', e.total_count, 'completed', e.completed_count, 'passed', e.passed_count, 'failed', e.failed_count, 'errored', e.errored_count),
    'percentDone', CASE WHEN e.total_count = 0 THEN 100 ELSE round(100.0 * e.completed_count / e.total_count, 2) END,
    'error', e.error,
    'errorCode', e.error_code,
    'createdAt', evalgraph_ts(e.created_at),
    'startedAt', evalgraph_ts(e.started_at),
    'finishedAt', evalgraph_ts(e.finished_at))
$$;

-- batch.completed, once, when the last evaluation of a batch ends (the batch row lock orders
-- concurrent endings, so exactly one of them sees all the others ended).
CREATE FUNCTION evalgraph_batch_check(p_batch uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  b evaluation_batches;
BEGIN
  SELECT * INTO b FROM evaluation_batches WHERE id = p_batch FOR UPDATE;
  IF b.id IS NULL OR b.completed_at IS NOT NULL THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM evaluations WHERE batch_id = p_batch AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELED')) THEN
    RETURN;
  END IF;
  UPDATE evaluation_batches SET completed_at = clock_timestamp() WHERE id = p_batch;
  PERFORM evalgraph_enqueue_webhook(b.project_id, 'batch.completed', jsonb_build_object(
    'id', evalgraph_gid('EvaluationBatch', b.id),
    'projectId', evalgraph_gid('Project', b.project_id),
    'name', b.name,
    'evaluations', (SELECT jsonb_agg(jsonb_build_object('id', evalgraph_gid('Evaluation', x.id), 'name', x.name, 'status', x.status) ORDER BY x.id)
                      FROM evaluations x WHERE x.batch_id = p_batch)));
END $$;

CREATE FUNCTION evalgraph_evaluation_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event text;
  targets uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM evalgraph_enqueue_webhook(NEW.project_id, 'evaluation.created', evalgraph_evaluation_json(NEW));
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    event := CASE NEW.status WHEN 'RUNNING' THEN 'evaluation.started' WHEN 'COMPLETED' THEN 'evaluation.completed'
                             WHEN 'FAILED' THEN 'evaluation.failed' WHEN 'CANCELED' THEN 'evaluation.canceled' END;
    IF event IS NOT NULL THEN
      PERFORM evalgraph_enqueue_webhook(NEW.project_id, event, evalgraph_evaluation_json(NEW));
    END IF;
    IF NEW.batch_id IS NOT NULL AND NEW.status IN ('COMPLETED', 'FAILED', 'CANCELED') THEN
      PERFORM evalgraph_batch_check(NEW.batch_id);
    END IF;
  ELSIF NEW.status = 'RUNNING' THEN
    -- Progress, to each subscribed endpoint at most once per its interval. Updates of one
    -- evaluation are serialised by its row lock, so the marks cannot race.
    WITH due AS (
      SELECT e.id FROM webhook_endpoints e
        LEFT JOIN webhook_progress_marks m ON m.endpoint_id = e.id AND m.evaluation_id = NEW.id
       WHERE e.project_id = NEW.project_id AND e.enabled AND 'evaluation.progress' = ANY(e.events)
         AND (m.notified_at IS NULL OR m.notified_at <= clock_timestamp() - make_interval(secs => e.progress_interval_seconds))
    ), marked AS (
      INSERT INTO webhook_progress_marks (endpoint_id, evaluation_id, notified_at)
      SELECT id, NEW.id, clock_timestamp() FROM due
      ON CONFLICT (endpoint_id, evaluation_id) DO UPDATE SET notified_at = EXCLUDED.notified_at
      RETURNING endpoint_id
    )
    SELECT array_agg(endpoint_id) INTO targets FROM marked;
    IF targets IS NOT NULL THEN
      PERFORM evalgraph_enqueue_webhook(NEW.project_id, 'evaluation.progress', evalgraph_evaluation_json(NEW), targets);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER evaluations_webhooks_insert AFTER INSERT ON evaluations
  FOR EACH ROW EXECUTE FUNCTION evalgraph_evaluation_webhooks();

CREATE TRIGGER evaluations_webhooks_update AFTER UPDATE OF status, completed_count ON evaluations
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.completed_count IS DISTINCT FROM NEW.completed_count)
  EXECUTE FUNCTION evalgraph_evaluation_webhooks();
