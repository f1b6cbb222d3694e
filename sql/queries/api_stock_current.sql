-- api_stock_current: the current stock of every (sku, warehouse) from the
-- pipeline's levels (stock_levels FINAL), with the warehouse's region,
-- filtered by skus, warehouses and regions (empty arrays match everything).
SELECT
    toString(l.sku)        AS sku,
    toString(l.warehouse)  AS warehouse,
    w.region               AS region,
    l.on_hand              AS on_hand,
    l.reserved             AS reserved,
    l.available            AS available,
    l.last_event_ts        AS last_event_ts,
    l.updated_at           AS updated_at
FROM stock_levels AS l FINAL
LEFT JOIN (SELECT id, toString(region) AS region FROM warehouses FINAL) AS w ON w.id = toString(l.warehouse)
WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(l.sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(l.warehouse)))
  AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, w.region))
ORDER BY sku, warehouse
