-- export_forecasts: the forecasts dataset of `stockflow export`: every
-- forecast row (forecasts FINAL) whose forecast day is in {from} to {to}
-- inclusive, filtered like export_sales.sql. The partition key date is
-- the forecast day (not the cutoff); rows come sorted by date, sku,
-- warehouse, cutoff, run_id. Columns are documented in
-- internal/export/dataset.go.
SELECT
    day                   AS date,
    day,
    toString(sku)         AS sku,
    toString(warehouse)   AS warehouse,
    cutoff,
    toInt64(horizon)      AS horizon,
    run_id,
    created_at,
    toString(model)       AS model,
    mean,
    p05,
    p10,
    p50,
    p90,
    p95,
    p99,
    uplift
FROM forecasts FINAL
WHERE day >= {from:Date} AND day <= {to:Date}
  AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
  AND (empty({regions:Array(String)})
       OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
ORDER BY date, sku, warehouse, cutoff, run_id
SETTINGS output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
