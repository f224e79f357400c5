-- Client ids of Evalgraph's own scores move under the prefix "evalgraph:", which clients may not
-- use: a client could otherwise take the id an online evaluation rule writes its score under.
-- A score a client already stored under the new id keeps it (the upgrade must not fail on a
-- tenant's data); the rule's score then keeps its old id.
UPDATE "scores" AS s SET "client_id" = 'evalgraph:' || s."client_id"
WHERE s."source" = 'ONLINE_EVALUATION' AND s."client_id" LIKE 'rule:%'
  AND NOT EXISTS (
    SELECT 1 FROM "scores" AS taken
    WHERE taken."project_id" = s."project_id" AND taken."client_id" = 'evalgraph:' || s."client_id"
  );
