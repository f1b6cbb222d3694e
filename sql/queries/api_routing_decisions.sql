-- api_routing_decisions: the final routing decision of every order
-- decided between {from} and {to} (routing_decisions FINAL, final = 1):
-- status, reason, the warehouses it ships from (shipped_from,
-- comma-separated), and the cost breakdown.
-- Filtered by regions (the ship-to region), warehouses (any of the
-- shipping warehouses) and skus (orders with a line of the SKU); newest
-- first, at most {limit} rows.
SELECT
    ts                                     AS time,
    order_id,
    decision_id,
    toString(status)                       AS status,
    toString(reason)                       AS reason,
    arrayStringConcat(warehouses, ',')     AS shipped_from,
    units,
    packages,
    cost_shipping,
    cost_handling,
    cost_split,
    cost_opportunity,
    cost_backorder,
    cost_total,
    toString(region)                       AS region,
    ship_lat,
    ship_lon,
    latency_ms
FROM routing_decisions FINAL
WHERE final
  AND ts >= {from:DateTime64(3)} AND ts <= {to:DateTime64(3)}
  AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, toString(region)))
  AND (empty({warehouses:Array(String)}) OR hasAny(arrayMap(w -> toString(w), warehouses), {warehouses:Array(String)}))
  AND (empty({skus:Array(String)})
       OR order_id IN (SELECT order_id FROM orders FINAL ARRAY JOIN lines WHERE has({skus:Array(String)}, lines.sku)))
ORDER BY time DESC, order_id
LIMIT {limit:UInt32}
