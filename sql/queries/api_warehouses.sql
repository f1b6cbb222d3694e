-- api_warehouses: the registered warehouses with their region and
-- location, for GET /api/v1/warehouses, filtered by warehouses and regions.
SELECT
    id                AS warehouse,
    toString(region)  AS region,
    name,
    lat,
    lon
FROM warehouses FINAL
WHERE (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, id))
  AND (empty({regions:Array(String)}) OR has({regions:Array(String)}, toString(region)))
ORDER BY warehouse
