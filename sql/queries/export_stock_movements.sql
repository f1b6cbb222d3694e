-- export_stock_movements: the stock_movements dataset of `stockflow
-- export`: one row per stock movement (raw stock_movements FINAL), for the
-- UTC days {from} to {to} inclusive, filtered like export_sales.sql.
-- date is the Hive partition key; rows come sorted by date, sku,
-- warehouse, ts. Columns are documented in internal/export/dataset.go.
SELECT
    toDate(ts, 'UTC')      AS date,
    ts,
    toString(sku)          AS sku,
    toString(warehouse)    AS warehouse,
    toString(kind)         AS kind,
    qty,
    delta,
    ref,
    event_id
FROM stock_movements FINAL
WHERE ts >= toDateTime64({from:Date}, 3, 'UTC')
  AND ts < toDateTime64({to:Date} + 1, 3, 'UTC')
  AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
  AND (empty({regions:Array(String)})
       OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
ORDER BY date, sku, warehouse, ts, event_id
SETTINGS output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
