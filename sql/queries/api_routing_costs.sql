-- api_routing_costs: per UTC day from {from} to {to}, the orders finally
-- decided that day (routing_decisions FINAL, final = 1) by outcome, the
-- split rate (split ÷ shipped orders), the total and per-order cost of
-- the shipped orders and its breakdown (shipping, handling, split
-- penalty, opportunity cost, backorder cost), and the opportunity cost's
-- share of the total. time is the start of the day. Filtered like
-- api_routing_decisions.sql.
SELECT
    toDateTime64(toDate(ts, 'UTC'), 3, 'UTC')                        AS time,
    count()                                                          AS orders,
    countIf(status = 'routed')                                       AS routed,
    countIf(status = 'split')                                        AS split,
    countIf(status = 'backordered')                                  AS backordered,
    countIf(status = 'rejected')                                     AS rejected,
    if(routed + split > 0, split / (routed + split), 0)              AS split_rate,
    sum(cost_total)                                                  AS total_cost,
    if(routed + split > 0, sumIf(cost_total, status IN ('routed', 'split')) / (routed + split), 0) AS cost_per_order,
    sum(cost_shipping)                                               AS shipping_cost,
    sum(cost_handling)                                               AS handling_cost,
    sum(cost_split)                                                  AS split_cost,
    sum(cost_opportunity)                                            AS opportunity_cost,
    sum(cost_backorder)                                              AS backorder_cost,
    if(total_cost > 0, opportunity_cost / total_cost, 0)             AS opportunity_share
FROM routing_decisions FINAL
WHERE final
  AND ts >= {from:DateTime64(3)} AND ts <= {to:DateTime64(3)}
  AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, toString(region)))
  AND (empty({warehouses:Array(String)}) OR hasAny(arrayMap(w -> toString(w), warehouses), {warehouses:Array(String)}))
  AND (empty({skus:Array(String)})
       OR order_id IN (SELECT order_id FROM orders FINAL ARRAY JOIN lines WHERE has({skus:Array(String)}, lines.sku)))
GROUP BY time
ORDER BY time
