-- api_skus: the SKUs that have a stock level, for GET /api/v1/skus and
-- the Grafana data source's template variables, filtered by warehouses
-- and regions (empty arrays match everything).
SELECT DISTINCT toString(sku) AS sku
FROM stock_levels FINAL
WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
  AND (empty({regions:Array(String)})
       OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
ORDER BY sku
