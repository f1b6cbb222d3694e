-- export_sales: the sales dataset of `stockflow export` (internal/export):
-- one row per sale (raw sales FINAL, so a sink replay is one row), for the
-- UTC days {from} to {to} inclusive, optionally only the SKUs {skus}, the
-- warehouses {warehouses} and the warehouses of the regions {regions}
-- (an empty array is no filter). date is the Hive partition key (the UTC
-- day of ts); rows come sorted by date, sku, warehouse, ts. The column
-- list is mirrored in internal/export/dataset.go, which documents it.
SELECT
    toDate(ts, 'UTC')               AS date,
    ts,
    toString(sku)                   AS sku,
    toString(warehouse)             AS warehouse,
    qty,
    unit_price,
    toFloat64(qty * unit_price)     AS revenue,
    toString(currency)              AS currency,
    toString(channel)               AS channel,
    order_id,
    event_id
FROM sales FINAL
WHERE ts >= toDateTime64({from:Date}, 3, 'UTC')
  AND ts < toDateTime64({to:Date} + 1, 3, 'UTC')
  AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
  AND (empty({regions:Array(String)})
       OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
ORDER BY date, sku, warehouse, ts, event_id
SETTINGS output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
