-- Client ids of Evalgraph's own scores move under the prefix "evalgraph:", which clients may not
-- use: a client could otherwise take the id an online evaluation rule writes its score under.
UPDATE "scores" SET "client_id" = 'evalgraph:' || "client_id"
WHERE "source" = 'ONLINE_EVALUATION' AND "client_id" LIKE 'rule:%';
