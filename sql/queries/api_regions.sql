-- api_regions: the regions of the registered warehouses and how many
-- warehouses each has, for GET /api/v1/regions.
SELECT
    toString(region)  AS region,
    count()           AS warehouses
FROM warehouses FINAL
WHERE (empty({regions:Array(String)}) OR has({regions:Array(String)}, toString(region)))
GROUP BY region
ORDER BY region
