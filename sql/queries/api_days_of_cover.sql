-- api_days_of_cover: days of cover of every (sku, warehouse): available
-- stock (stock_levels FINAL) ÷ forecast daily demand, where the daily
-- demand is the mean of the daily means of the key's latest forecast run
-- (greatest cutoff, then latest created_at). days_of_cover is NULL when
-- there is no forecast or it forecasts no demand. lead_time_days is the
-- lead time of the key's latest purchase reorder (NULL before the first);
-- cover_below_lead_time is 1 when the cover is shorter than that lead
-- time, i.e. stock runs out before a reorder placed now arrives.
-- Filtered by skus, warehouses and regions.
WITH
    fc AS
    (
        SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, run_id, cutoff, created_at, mean
        FROM forecasts FINAL
        WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
    ),
    latest AS
    (
        SELECT sku, warehouse, argMax(run_id, (cutoff, created_at)) AS run_id
        FROM fc
        GROUP BY sku, warehouse
    ),
    demand AS
    (
        SELECT sku, warehouse, avg(mean) AS daily_demand, any(cutoff) AS cutoff
        FROM fc
        WHERE (sku, warehouse, run_id) IN (SELECT sku, warehouse, run_id FROM latest)
        GROUP BY sku, warehouse
    ),
    lead AS
    (
        SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, argMax(lead_time_days, ts) AS learned
        FROM reorders FINAL
        WHERE kind = 'purchase' AND lead_time_days > 0
        GROUP BY sku, warehouse
    ),
    wh AS (SELECT id, toString(region) AS region FROM warehouses FINAL)
SELECT
    toString(l.sku)                                                AS sku,
    toString(l.warehouse)                                          AS warehouse,
    coalesce(w.region, '')                                         AS region,
    l.on_hand                                                      AS on_hand,
    l.available                                                    AS available,
    d.daily_demand                                                 AS daily_demand,
    if(d.daily_demand > 0, l.available / d.daily_demand, NULL)     AS days_of_cover,
    ld.learned                                                     AS lead_time_days,
    toUInt8(coalesce(if(d.daily_demand > 0, l.available / d.daily_demand, NULL) < ld.learned, 0)) AS cover_below_lead_time,
    d.cutoff                                                       AS forecast_cutoff
FROM stock_levels AS l FINAL
LEFT JOIN demand AS d ON d.sku = toString(l.sku) AND d.warehouse = toString(l.warehouse)
LEFT JOIN lead AS ld ON ld.sku = toString(l.sku) AND ld.warehouse = toString(l.warehouse)
LEFT JOIN wh AS w ON w.id = toString(l.warehouse)
WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(l.sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(l.warehouse)))
  AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, coalesce(w.region, '')))
ORDER BY days_of_cover ASC NULLS LAST, sku, warehouse
SETTINGS join_use_nulls = 1
