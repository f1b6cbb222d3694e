-- api_forecast_vs_actual: per (sku, warehouse) and UTC day from {from} to
-- {to}: the units sold (actual, from sales_daily; 0 on a day without
-- sales up to the latest sales day, NULL after it) against the forecast
-- made for that day by the latest run that forecast it (greatest cutoff,
-- then latest created_at): forecast is its mean, lower and upper its p10
-- and p90 (the 80% prediction band), p50 its median. time is the start of
-- the day (UTC). Filtered by skus, warehouses and regions.
WITH
    toDate({from:DateTime64(3)}, 'UTC') AS first_day,
    toDate({to:DateTime64(3)}, 'UTC')   AS last_day,
    (SELECT max(day) FROM sales_daily) AS last_sales_day,
    fc AS
    (
        SELECT
            toString(sku)        AS sku,
            toString(warehouse)  AS warehouse,
            day,
            argMax((mean, p10, p50, p90, toString(model)), (cutoff, created_at)) AS f
        FROM forecasts FINAL
        WHERE day >= first_day AND day <= last_day
          AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
        GROUP BY sku, warehouse, day
    ),
    act AS
    (
        SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, day, sum(units) AS units
        FROM sales_daily
        WHERE day >= first_day AND day <= last_day
          AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
        GROUP BY sku, warehouse, day
    ),
    joined AS
    (
        SELECT
            coalesce(f.day, a.day)              AS day,
            coalesce(f.sku, a.sku)              AS sku,
            coalesce(f.warehouse, a.warehouse)  AS warehouse,
            a.units                             AS units,
            f.f                                 AS f
        FROM fc AS f
        FULL OUTER JOIN act AS a ON f.sku = a.sku AND f.warehouse = a.warehouse AND f.day = a.day
    )
SELECT
    toDateTime64(day, 3, 'UTC')                                          AS time,
    sku,
    warehouse,
    if(day <= last_sales_day, toFloat64(coalesce(units, 0)), NULL)       AS actual,
    f.1                                                                  AS forecast,
    f.2                                                                  AS lower,
    f.4                                                                  AS upper,
    f.3                                                                  AS p50,
    f.5                                                                  AS model
FROM joined
WHERE empty({regions:Array(String)})
   OR warehouse IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region)))
ORDER BY time, sku, warehouse
SETTINGS join_use_nulls = 1
