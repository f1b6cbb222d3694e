-- api_stock_history: the end-of-day on hand of every (sku, warehouse) for
-- each UTC day from {from} (or the key's first movement or sale, if
-- later) to {to}, days without movements included: the running sum of
-- every applied stock movement delta minus every sale from the beginning
-- of the history (raw tables FINAL), as export_stock_levels.sql computes
-- it. time is the start of the day (UTC). Filtered by skus, warehouses
-- and regions.
WITH
    toDate({from:DateTime64(3)}, 'UTC') AS first_day,
    toDate({to:DateTime64(3)}, 'UTC')   AS last_day,
    toDateTime64(last_day + 1, 3, 'UTC') AS end_ts,
    flows AS
    (
        SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, toDate(ts, 'UTC') AS day, delta AS amount
        FROM stock_movements FINAL
        WHERE ts < end_ts
        UNION ALL
        SELECT toString(sku), toString(warehouse), toDate(ts, 'UTC'), -qty
        FROM sales FINAL
        WHERE ts < end_ts
    ),
    daily AS
    (
        SELECT sku, warehouse, day, sum(amount) AS net
        FROM flows
        WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, sku))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, warehouse))
          AND (empty({regions:Array(String)})
               OR warehouse IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
        GROUP BY sku, warehouse, day
    ),
    levels AS
    (
        SELECT sku, warehouse, day,
               sum(net) OVER (PARTITION BY sku, warehouse ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS level
        FROM daily
    ),
    grid AS
    (
        SELECT sku, warehouse,
               arrayJoin(arrayMap(i -> first + i, range(toUInt32(greatest(dateDiff('day', first, last_day) + 1, 0))))) AS day
        FROM
        (
            SELECT sku, warehouse, greatest(min(day), first_day) AS first
            FROM daily
            GROUP BY sku, warehouse
        )
    )
SELECT
    toDateTime64(g.day, 3, 'UTC')  AS time,
    g.sku                          AS sku,
    g.warehouse                    AS warehouse,
    toInt64(coalesce(l.level, 0))  AS on_hand
FROM grid AS g
ASOF LEFT JOIN levels AS l ON l.sku = g.sku AND l.warehouse = g.warehouse AND l.day <= g.day
ORDER BY time, sku, warehouse
SETTINGS join_use_nulls = 1
