-- api_fill_rate: the fill rate of web orders per SKU and ship-to region
-- for the orders finally decided between {from} and {to}
-- (routing_decisions FINAL, final = 1): ordered units (the order lines),
-- shipped units (the final decision's assignments, routing_assignments
-- FINAL), unit fill rate = shipped ÷ ordered, and line fill rate = the
-- share of order lines shipped complete. Filtered by skus, regions (the
-- ship-to region) and warehouses (lines shipped from them; for a
-- warehouse filter the ordered units count only orders shipped from it).
WITH
    dec AS
    (
        SELECT order_id, toString(region) AS region
        FROM routing_decisions FINAL
        WHERE final
          AND ts >= {from:DateTime64(3)} AND ts <= {to:DateTime64(3)}
          AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, toString(region)))
          AND (empty({warehouses:Array(String)}) OR hasAny(arrayMap(w -> toString(w), warehouses), {warehouses:Array(String)}))
    ),
    demand AS
    (
        SELECT order_id, lines.sku AS sku, sum(lines.qty) AS ordered
        FROM orders FINAL
        ARRAY JOIN lines
        WHERE order_id IN (SELECT order_id FROM dec)
          AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, lines.sku))
        GROUP BY order_id, sku
    ),
    shipped AS
    (
        SELECT order_id, toString(sku) AS sku, sum(qty) AS shipped
        FROM routing_assignments FINAL
        WHERE final AND order_id IN (SELECT order_id FROM dec)
        GROUP BY order_id, sku
    )
SELECT
    d.sku                                                       AS sku,
    dec.region                                                  AS region,
    uniqExact(d.order_id)                                       AS orders,
    sum(d.ordered)                                              AS ordered_units,
    sum(least(coalesce(s.shipped, 0), d.ordered))               AS shipped_units,
    if(ordered_units > 0, shipped_units / ordered_units, 0)     AS fill_rate,
    countIf(coalesce(s.shipped, 0) >= d.ordered) / orders       AS line_fill_rate
FROM demand AS d
LEFT JOIN shipped AS s ON s.order_id = d.order_id AND s.sku = d.sku
INNER JOIN dec ON dec.order_id = d.order_id
GROUP BY sku, region
ORDER BY fill_rate ASC, sku, region
SETTINGS join_use_nulls = 1
