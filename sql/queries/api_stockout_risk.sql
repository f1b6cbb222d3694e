-- api_stockout_risk: the stockout risk of every (sku, warehouse).
--
-- inventory_position = on_hand + on_order + in_transit - reserved, where
-- on_order is what open purchase reorders (latest status 'ordered') still
-- have to deliver (qty - received_qty) and in_transit the same for open
-- transfers into the warehouse (reorders FINAL). The lead time is the one
-- of the key's latest purchase reorder, else {lead_time_days}.
--
-- Demand over the lead time comes from the key's latest forecast run
-- (greatest cutoff, then latest created_at), over its first
-- ceil(lead time) days: the mean is the sum of the daily means, and the
-- standard deviation sqrt(sum of daily variances) with each day's sigma
-- taken from its p10..p90 interval, (p90 - p10) / (2 * 1.2815515655446004),
-- assuming independent, normally distributed days.
-- stockout_probability = P(demand over lead time > inventory position)
-- = 1 - Phi((inventory_position - mean) / sd); with sd = 0 it is 1 when
-- the mean exceeds the position, else 0.
--
-- projected_stockout is the first forecast day whose cumulative mean
-- demand reaches the available stock (what runs out if nothing arrives);
-- NULL when the forecast horizon ends first. Filtered by skus, warehouses
-- and regions; the riskiest first.
WITH
    1.2815515655446004 AS z90,
    fc AS
    (
        SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, run_id, cutoff, created_at, day, mean, p10, p90
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
    curve AS
    (
        SELECT
            sku,
            warehouse,
            arraySort(x -> x.1, groupArray((day, mean, greatest(p90 - p10, 0) / (2 * z90)))) AS days
        FROM fc
        WHERE (sku, warehouse, run_id) IN (SELECT sku, warehouse, run_id FROM latest)
        GROUP BY sku, warehouse
    ),
    latest_reorder AS
    (
        SELECT
            reorder_id,
            toString(kind)                         AS k,
            toString(sku)                          AS s,
            toString(warehouse)                    AS w,
            argMax(status, (ts, multiIf(status IN ('received', 'cancelled'), 2, status = 'ordered', 1, 0))) AS st,
            argMax(qty - received_qty, ts)         AS outstanding,
            argMax(lead_time_days, ts)             AS lt,
            max(ts)                                AS last_ts
        FROM reorders FINAL
        WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
        GROUP BY reorder_id, k, s, w
    ),
    pipeline AS
    (
        SELECT
            s                                                                  AS sku,
            w                                                                  AS warehouse,
            sumIf(greatest(outstanding, 0), k = 'purchase' AND st = 'ordered')  AS on_order,
            sumIf(greatest(outstanding, 0), k = 'transfer' AND st = 'ordered')  AS in_transit,
            argMaxIf(lt, last_ts, k = 'purchase' AND lt > 0)                   AS learned_lead_time,
            countIf(k = 'purchase' AND lt > 0)                                 AS purchases
        FROM latest_reorder
        GROUP BY s, w
    ),
    wh AS (SELECT id, toString(region) AS region FROM warehouses FINAL),
    base AS
    (
        SELECT
            toString(l.sku)                                       AS sku,
            toString(l.warehouse)                                 AS warehouse,
            coalesce(w.region, '')                                AS region,
            l.on_hand                                             AS on_hand,
            l.reserved                                            AS reserved,
            l.available                                           AS available,
            toInt64(coalesce(p.on_order, 0))                      AS on_order,
            toInt64(coalesce(p.in_transit, 0))                    AS in_transit,
            l.on_hand + on_order + in_transit - l.reserved        AS inventory_position,
            toFloat64(if(coalesce(p.purchases, 0) > 0, p.learned_lead_time, {lead_time_days:Float64})) AS lead_time_days,
            c.days                                                AS days
        FROM stock_levels AS l FINAL
        LEFT JOIN pipeline AS p ON p.sku = toString(l.sku) AND p.warehouse = toString(l.warehouse)
        INNER JOIN curve AS c ON c.sku = toString(l.sku) AND c.warehouse = toString(l.warehouse)
        LEFT JOIN wh AS w ON w.id = toString(l.warehouse)
        WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(l.sku)))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(l.warehouse)))
          AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, coalesce(w.region, '')))
    ),
    sized AS
    (
        SELECT
            *,
            arraySlice(days, 1, toUInt32(ceil(lead_time_days)))   AS lead_days,
            arraySum(x -> x.2, lead_days)                         AS lead_time_demand,
            sqrt(arraySum(x -> x.3 * x.3, lead_days))             AS lead_time_demand_sd,
            arrayFirstIndex(c -> c >= available, arrayCumSum(arrayMap(x -> x.2, days))) AS stockout_index
        FROM base
    )
SELECT
    sku,
    warehouse,
    region,
    on_hand,
    reserved,
    available,
    on_order,
    in_transit,
    inventory_position,
    lead_time_days,
    lead_time_demand,
    lead_time_demand_sd,
    if(lead_time_demand_sd > 0,
       0.5 * (1 - erf((inventory_position - lead_time_demand) / (lead_time_demand_sd * sqrt(2)))),
       toFloat64(lead_time_demand > inventory_position))  AS stockout_probability,
    if(stockout_index = 0, NULL, days[stockout_index].1)   AS projected_stockout
FROM sized
ORDER BY stockout_probability DESC, projected_stockout ASC NULLS LAST, sku, warehouse
SETTINGS join_use_nulls = 1
