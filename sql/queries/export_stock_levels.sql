-- export_stock_levels: the stock_levels dataset of `stockflow export`: the
-- end-of-day stock of every (sku, warehouse) for each UTC day from {from}
-- (or the key's first movement or sale, if later) to {to}, or to the last
-- day with any movement or sale if that is earlier, inclusive; days
-- without movements included, filtered like export_sales.sql.
--
-- on_hand is the ledger's on hand at the end of the day: the sum of every
-- stock movement's applied delta (the on-hand change the stock pipeline
-- applied; a count's delta is what set the level) minus every sale, from
-- the beginning of the history (raw tables FINAL). The flow columns split
-- the day's change by kind; net_change = on_hand - the previous day's.
-- Columns are documented in internal/export/dataset.go.
WITH
    toDateTime64({to:Date} + 1, 3, 'UTC') AS end_ts,
    flows AS
    (
        SELECT
            toString(sku)                          AS sku,
            toString(warehouse)                    AS warehouse,
            toDate(ts, 'UTC')                      AS day,
            toString(kind)                         AS kind,
            delta                                  AS amount
        FROM stock_movements FINAL
        WHERE ts < end_ts
        UNION ALL
        SELECT toString(sku), toString(warehouse), toDate(ts, 'UTC'), 'sale', -qty
        FROM sales FINAL
        WHERE ts < end_ts
    ),
    daily AS
    (
        SELECT
            sku,
            warehouse,
            day,
            sum(amount)                                                 AS net,
            sumIf(amount, kind = 'receipt')                             AS received,
            sumIf(amount, kind = 'transfer_in')                         AS transferred_in,
            sumIf(-amount, kind = 'transfer_out')                       AS transferred_out,
            sumIf(-amount, kind = 'sale')                               AS sold,
            sumIf(amount, kind = 'return')                              AS returned,
            sumIf(amount, kind IN ('adjustment', 'count', 'damage'))    AS adjusted
        FROM flows
        WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, sku))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, warehouse))
          AND (empty({regions:Array(String)})
               OR warehouse IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
        GROUP BY sku, warehouse, day
    ),
    levels AS
    (
        SELECT
            sku,
            warehouse,
            day,
            sum(net) OVER (PARTITION BY sku, warehouse ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS level
        FROM daily
    ),
    grid AS
    (
        SELECT
            sku,
            warehouse,
            arrayJoin(arrayMap(i -> first + i, range(toUInt32(greatest(dateDiff('day', first, last_day) + 1, 0))))) AS day
        FROM
        (
            SELECT sku, warehouse, greatest(min(day), {from:Date}) AS first
            FROM daily
            GROUP BY sku, warehouse
        ) AS keys
        CROSS JOIN
        (
            -- the last day with any sale or movement, from the raw tables
            -- (a replayed row repeats its ts, so no FINAL is needed),
            -- rather than from flows, which would scan both tables FINAL a
            -- second time
            SELECT least(toDate(greatest(
                (SELECT max(ts) FROM stock_movements WHERE ts < end_ts),
                (SELECT max(ts) FROM sales WHERE ts < end_ts)), 'UTC'), {to:Date}) AS last_day
        ) AS data_end
    )
SELECT
    g.day                                   AS date,
    g.day                                   AS day,
    g.sku                                   AS sku,
    g.warehouse                             AS warehouse,
    toInt64(coalesce(l.level, 0))           AS on_hand,
    toInt64(coalesce(d.net, 0))             AS net_change,
    toInt64(coalesce(d.received, 0))        AS received,
    toInt64(coalesce(d.transferred_in, 0))  AS transferred_in,
    toInt64(coalesce(d.transferred_out, 0)) AS transferred_out,
    toInt64(coalesce(d.sold, 0))            AS sold,
    toInt64(coalesce(d.returned, 0))        AS returned,
    toInt64(coalesce(d.adjusted, 0))        AS adjusted
FROM grid AS g
ASOF LEFT JOIN levels AS l ON l.sku = g.sku AND l.warehouse = g.warehouse AND l.day <= g.day
LEFT JOIN daily AS d ON d.sku = g.sku AND d.warehouse = g.warehouse AND d.day = g.day
ORDER BY date, sku, warehouse
SETTINGS join_use_nulls = 1, output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
