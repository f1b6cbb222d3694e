-- api_reorders_daily: per UTC day from {from} to {to} and kind, the
-- reorders and transfers decided that day (their first record), their
-- units and value (qty × unit_cost), and how many of those are still open
-- now. time is the start of the day. Filtered by skus, warehouses (the
-- destination) and regions.
WITH
    firsts AS
    (
        SELECT
            reorder_id,
            min(ts)                                      AS created,
            argMin(kind, ts)                             AS kind,
            argMin(qty, ts)                              AS qty,
            argMin(unit_cost, ts)                        AS unit_cost,
            argMax(status, (ts, multiIf(status IN ('received', 'cancelled'), 2, status = 'ordered', 1, 0))) AS last_status
        FROM reorders FINAL
        WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
          AND (empty({regions:Array(String)})
               OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
        GROUP BY reorder_id
    )
SELECT
    toDateTime64(toDate(created, 'UTC'), 3, 'UTC')   AS time,
    toString(kind)                                   AS kind,
    count()                                          AS reorders,
    sum(qty)                                         AS units,
    sum(qty * unit_cost)                             AS value,
    countIf(last_status IN ('suggested', 'ordered'))      AS open
FROM firsts
WHERE created >= {from:DateTime64(3)} AND created <= {to:DateTime64(3)}
GROUP BY time, kind
ORDER BY time, kind
