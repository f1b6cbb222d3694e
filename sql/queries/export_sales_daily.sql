-- export_sales_daily: the sales_daily dataset of `stockflow export`: units,
-- revenue and sales count per (sku, warehouse, UTC day) with at least one
-- sale, from the sales_daily rollup (summed, as its rows of one key are
-- merged lazily), for the days {from} to {to} inclusive, filtered like
-- export_sales.sql. Columns are documented in internal/export/dataset.go.
SELECT
    day                                           AS date,
    day,
    toString(sku)                                 AS sku,
    toString(warehouse)                           AS warehouse,
    toInt64(sum(units))                           AS units,
    toFloat64(sum(revenue))                       AS revenue,
    toInt64(sum(sales))                           AS sales,
    if(units != 0, revenue / units, NULL)         AS avg_price
FROM sales_daily
WHERE day >= {from:Date} AND day <= {to:Date}
  AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
  AND (empty({regions:Array(String)})
       OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
GROUP BY day, sku, warehouse
ORDER BY date, sku, warehouse
SETTINGS output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
