-- api_turns: inventory turns and availability of every (sku, warehouse)
-- over the UTC days from {from} to {to}: units sold (sales FINAL),
-- average end-of-day on hand over the days of the range since the key's
-- first movement or sale (computed as in api_stock_history.sql), turns =
-- sold ÷ average on hand (NULL without stock), turns annualised to 365
-- days, stockout days (days whose daily demand windows, final result and
-- corrections, record stocked-out time) and the in-stock rate = 1 -
-- stockout days ÷ days. Filtered by skus, warehouses and regions.
WITH
    toDate({from:DateTime64(3)}, 'UTC') AS first_day,
    toDate({to:DateTime64(3)}, 'UTC')   AS last_day,
    toDateTime64(last_day + 1, 3, 'UTC') AS end_ts,
    flows AS
    (
        SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, toDate(ts, 'UTC') AS day, delta AS amount, 0 AS sold
        FROM stock_movements FINAL
        WHERE ts < end_ts
        UNION ALL
        SELECT toString(sku), toString(warehouse), toDate(ts, 'UTC'), -qty, qty
        FROM sales FINAL
        WHERE ts < end_ts
    ),
    daily AS
    (
        SELECT sku, warehouse, day, sum(amount) AS net, sum(sold) AS sold
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
    ),
    eod AS
    (
        SELECT g.sku AS sku, g.warehouse AS warehouse, g.day AS day, toInt64(coalesce(l.level, 0)) AS on_hand
        FROM grid AS g
        ASOF LEFT JOIN levels AS l ON l.sku = g.sku AND l.warehouse = g.warehouse AND l.day <= g.day
    ),
    stockouts AS
    (
        SELECT sku, warehouse, countIf(seconds > 0) AS stockout_days
        FROM
        (
            SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, toDate(window_start, 'UTC') AS day, sum(stockout_seconds) AS seconds
            FROM demand_windows FINAL
            WHERE size = '1d' AND toDate(window_start, 'UTC') >= first_day AND toDate(window_start, 'UTC') <= last_day
            GROUP BY sku, warehouse, day
        )
        GROUP BY sku, warehouse
    ),
    agg AS
    (
        SELECT
            e.sku AS sku,
            e.warehouse AS warehouse,
            count() AS days,
            avg(e.on_hand) AS avg_on_hand,
            sum(coalesce(d.sold, 0)) AS sold
        FROM eod AS e
        LEFT JOIN daily AS d ON d.sku = e.sku AND d.warehouse = e.warehouse AND d.day = e.day
        GROUP BY sku, warehouse
    )
SELECT
    a.sku                                                  AS sku,
    a.warehouse                                            AS warehouse,
    a.days                                                 AS days,
    toInt64(a.sold)                                        AS units_sold,
    a.avg_on_hand                                          AS avg_on_hand,
    if(a.avg_on_hand > 0, a.sold / a.avg_on_hand, NULL)    AS turns,
    if(a.avg_on_hand > 0, a.sold / a.avg_on_hand * 365 / a.days, NULL) AS turns_annualised,
    toUInt64(coalesce(s.stockout_days, 0))                 AS stockout_days,
    1 - toUInt64(coalesce(s.stockout_days, 0)) / a.days    AS in_stock_rate
FROM agg AS a
LEFT JOIN stockouts AS s ON s.sku = a.sku AND s.warehouse = a.warehouse
ORDER BY turns ASC NULLS FIRST, sku, warehouse
SETTINGS join_use_nulls = 1
