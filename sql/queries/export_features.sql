-- export_features: the training-ready daily feature table of `stockflow
-- export --dataset features`: one row per (sku, warehouse, UTC day) from
-- {from} (or the key's first movement or sale, if later) to {to}, or to
-- the last day with any movement or sale if that is earlier, inclusive;
-- days without sales included, filtered like export_sales.sql. Days after
-- the data ends get no rows: they would read as days of zero demand that
-- nobody observed.
--
--   * sales: units, revenue and sales from the raw sales (FINAL);
--     avg_price is NULL on days without units;
--   * on_hand: end-of-day on hand, as in export_stock_levels.sql;
--   * stockout: the stocked-out seconds of the day's daily demand window
--     (final plus corrections, demand_windows FINAL); censored is true
--     exactly when they are above zero: the day's demand was censored by
--     missing stock, so units_sold is a lower bound of demand;
--   * campaign: a campaign (latest version of each id) was active during
--     the day for this SKU (listed, or of its category: {category_skus}
--     and {category_names} are the catalogue, parallel arrays) and this
--     warehouse (listed, or in one of its regions, or no restriction);
--     campaign_uplift is the largest announced relative uplift among them;
--   * calendar: ISO day of week, weekend, and the public holidays
--     {holidays} (sorted dates covering the range and beyond);
--   * forecast_h1/h7/h14: the latest forecast of the day whose cutoff (last
--     training day) is at least 1, 7 or 14 days before it (ASOF on cutoff;
--     of several runs with that cutoff, the newest), with p10 and p90;
--     NULL when there is none.
-- Columns are documented in internal/export/dataset.go.
WITH
    toDateTime64({from:Date}, 3, 'UTC')    AS start_ts,
    toDateTime64({to:Date} + 1, 3, 'UTC')  AS end_ts,
    (SELECT (groupArray(id), groupArray(toString(region))) FROM warehouses FINAL) AS wh,
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
          AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, transform(warehouse, wh.1, wh.2, '')))
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
            transform(warehouse, wh.1, wh.2, '') AS region,
            arrayJoin(arrayMap(i -> first + i, range(toUInt32(greatest(dateDiff('day', first, last_day) + 1, 0))))) AS day,
            day - 1  AS day_h1,
            day - 7  AS day_h7,
            day - 14 AS day_h14
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
    ),
    sold AS
    (
        SELECT
            toString(sku)          AS sku,
            toString(warehouse)    AS warehouse,
            toDate(ts, 'UTC')      AS day,
            sum(qty)               AS units,
            sum(qty * unit_price)  AS revenue,
            count()                AS sales
        FROM sales FINAL
        WHERE ts >= start_ts AND ts < end_ts
        GROUP BY sku, warehouse, day
    ),
    stockouts AS
    (
        SELECT
            toString(sku)                  AS sku,
            toString(warehouse)            AS warehouse,
            toDate(window_start, 'UTC')    AS day,
            sum(stockout_seconds)          AS seconds
        FROM demand_windows FINAL
        WHERE size = '1d' AND window_start >= start_ts AND window_start < end_ts
        GROUP BY sku, warehouse, day
    ),
    fc AS
    (
        SELECT
            toString(sku)                 AS sku,
            toString(warehouse)           AS warehouse,
            day,
            cutoff,
            argMax(mean, created_at)      AS mean,
            argMax(p10, created_at)       AS p10,
            argMax(p90, created_at)       AS p90
        FROM forecasts FINAL
        WHERE day >= {from:Date} AND day <= {to:Date}
        GROUP BY sku, warehouse, day, cutoff
    ),
    campaign_days AS
    (
        SELECT
            skus, category, regions, warehouses, expected_uplift,
            arrayJoin(arrayMap(i -> d0 + i, range(toUInt32(dateDiff('day', d0, d1) + 1)))) AS day
        FROM
        (
            SELECT
                skus, category, regions, warehouses, expected_uplift,
                greatest(toDate(`start`, 'UTC'), {from:Date})                          AS d0,
                least(toDate(`end` - toIntervalMillisecond(1), 'UTC'), {to:Date})      AS d1
            FROM
            (
                SELECT campaign_id, skus, toString(category) AS category, regions, warehouses, expected_uplift, `start`, `end`
                FROM campaigns FINAL
                ORDER BY campaign_id, ts DESC, event_id DESC
                LIMIT 1 BY campaign_id
            )
            WHERE `end` > `start` AND d1 >= d0
        )
    ),
    camp AS
    (
        SELECT g.sku AS sku, g.warehouse AS warehouse, g.day AS day, max(c.expected_uplift) AS uplift
        FROM grid AS g
        INNER JOIN campaign_days AS c ON c.day = g.day
        WHERE (has(c.skus, g.sku)
               OR (empty(c.skus) AND c.category != ''
                   AND c.category = transform(g.sku, {category_skus:Array(String)}, {category_names:Array(String)}, '')))
          AND ((empty(c.warehouses) AND empty(c.regions)) OR has(c.warehouses, g.warehouse) OR has(c.regions, g.region))
        GROUP BY sku, warehouse, day
    )
SELECT
    g.day                                                       AS date,
    g.day                                                       AS day,
    g.sku                                                       AS sku,
    g.warehouse                                                 AS warehouse,
    g.region                                                    AS region,
    toInt64(coalesce(s.units, 0))                               AS units_sold,
    toFloat64(coalesce(s.revenue, 0))                           AS revenue,
    toInt64(coalesce(s.sales, 0))                               AS sales,
    if(coalesce(s.units, 0) != 0, s.revenue / s.units, NULL)    AS avg_price,
    toInt64(coalesce(l.level, 0))                               AS on_hand,
    toFloat64(coalesce(o.seconds, 0)) / 60                      AS stockout_minutes,
    toBool(coalesce(o.seconds, 0) > 0)                          AS censored,
    toBool(k.uplift IS NOT NULL)                                AS campaign,
    toFloat64(coalesce(k.uplift, 0))                            AS campaign_uplift,
    toInt64(toDayOfWeek(g.day))                                 AS day_of_week,
    toBool(toDayOfWeek(g.day) >= 6)                             AS weekend,
    toInt64(toDayOfYear(g.day))                                 AS day_of_year,
    toInt64(toMonth(g.day))                                     AS month,
    toBool(has({holidays:Array(Date)}, g.day))                  AS holiday,
    if(arrayExists(h -> h >= g.day, {holidays:Array(Date)}),
       toInt64(dateDiff('day', g.day, arrayFirst(h -> h >= g.day, {holidays:Array(Date)}))), NULL)      AS days_to_holiday,
    if(arrayExists(h -> h <= g.day, {holidays:Array(Date)}),
       toInt64(dateDiff('day', arrayLast(h -> h <= g.day, {holidays:Array(Date)}), g.day)), NULL)       AS days_since_holiday,
    f1.mean                                                     AS forecast_h1,
    f1.p10                                                      AS forecast_h1_p10,
    f1.p90                                                      AS forecast_h1_p90,
    f7.mean                                                     AS forecast_h7,
    f7.p10                                                      AS forecast_h7_p10,
    f7.p90                                                      AS forecast_h7_p90,
    f14.mean                                                    AS forecast_h14,
    f14.p10                                                     AS forecast_h14_p10,
    f14.p90                                                     AS forecast_h14_p90
FROM grid AS g
ASOF LEFT JOIN levels AS l ON l.sku = g.sku AND l.warehouse = g.warehouse AND l.day <= g.day
LEFT JOIN sold AS s ON s.sku = g.sku AND s.warehouse = g.warehouse AND s.day = g.day
LEFT JOIN stockouts AS o ON o.sku = g.sku AND o.warehouse = g.warehouse AND o.day = g.day
LEFT JOIN camp AS k ON k.sku = g.sku AND k.warehouse = g.warehouse AND k.day = g.day
ASOF LEFT JOIN fc AS f1 ON f1.sku = g.sku AND f1.warehouse = g.warehouse AND f1.day = g.day AND f1.cutoff <= g.day_h1
ASOF LEFT JOIN fc AS f7 ON f7.sku = g.sku AND f7.warehouse = g.warehouse AND f7.day = g.day AND f7.cutoff <= g.day_h7
ASOF LEFT JOIN fc AS f14 ON f14.sku = g.sku AND f14.warehouse = g.warehouse AND f14.day = g.day AND f14.cutoff <= g.day_h14
ORDER BY date, sku, warehouse
SETTINGS join_use_nulls = 1, output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
