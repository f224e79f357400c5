-- Events are built in TypeScript now (src/modules/events/catalogue.ts) and their webhook messages
-- written to the outbox by the emitter, in the transaction of each change: the triggers on
-- `evaluations` and the functions that built webhook messages go. No schema change.
--
-- Existing outbox rows stay valid as they are: a message keeps the payload it was signed with, and
-- a pending delivery is claimed and sent by the webhook workers as before; the progress marks keep
-- spacing evaluation.progress per endpoint. evalgraph_uuid7() stays: the outbox and the delivery
-- log make their time-ordered ids with it.
DROP TRIGGER evaluations_webhooks_insert ON evaluations;
DROP TRIGGER evaluations_webhooks_update ON evaluations;
DROP FUNCTION evalgraph_evaluation_webhooks();
DROP FUNCTION evalgraph_batch_check(uuid);
DROP FUNCTION evalgraph_enqueue_webhook(uuid, text, jsonb, uuid[]);
DROP FUNCTION evalgraph_evaluation_json(evaluations);
DROP FUNCTION evalgraph_grader_results(evaluations);
DROP FUNCTION evalgraph_gid(text, uuid);
DROP FUNCTION evalgraph_ts(timestamptz);
