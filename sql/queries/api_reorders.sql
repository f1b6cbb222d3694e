-- api_reorders: the reorders and transfers active between {from} and
-- {to} (created before {to}, last changed after {from}), each in its
-- latest status (reorders FINAL), with the numbers of its decision: the
-- first record's inventory position, reorder point, order-up-to level,
-- safety stock, daily demand and lead time. {kind} ('' for all,
-- 'purchase' or 'transfer') and {status} ('' for all, 'open' for
-- suggested or ordered, or one status) narrow the list; filtered by skus,
-- warehouses (the destination) and regions; newest first, at most
-- {limit} rows.
WITH
    recs AS
    (
        SELECT *
        FROM reorders FINAL
        WHERE (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
          AND (empty({regions:Array(String)})
               OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
          AND ({kind:String} = '' OR kind = {kind:String})
    ),
    byid AS
    (
        SELECT
            reorder_id,
            min(ts)                                                   AS created,
            max(ts)                                                   AS updated,
            argMax(status, (ts, multiIf(status IN ('received', 'cancelled'), 2, status = 'ordered', 1, 0))) AS last_status,
            argMin((kind, toString(sku), toString(warehouse), toString(from_warehouse), toString(supplier),
                    qty, toString(reason), toString(policy), inventory_position, reorder_point, order_up_to,
                    safety_stock, daily_demand, lead_time_days, unit_cost, transfer_cost, expected_by), ts) AS d,
            max(received_qty)                                         AS received
        FROM recs
        GROUP BY reorder_id
    )
SELECT
    created,
    updated,
    reorder_id,
    toString(d.1)       AS kind,
    toString(last_status) AS status,
    d.2                 AS sku,
    d.3                 AS warehouse,
    d.4                 AS from_warehouse,
    d.5                 AS supplier,
    d.6                 AS qty,
    received            AS received_qty,
    d.7                 AS reason,
    d.8                 AS policy,
    d.9                 AS inventory_position,
    d.10                AS reorder_point,
    d.11                AS order_up_to,
    d.12                AS safety_stock,
    d.13                AS daily_demand,
    d.14                AS lead_time_days,
    d.15                AS unit_cost,
    d.16                AS transfer_cost,
    d.17                AS expected_by
FROM byid
WHERE created <= {to:DateTime64(3)} AND updated >= {from:DateTime64(3)}
  AND ({status:String} = ''
       OR ({status:String} = 'open' AND last_status IN ('suggested', 'ordered'))
       OR toString(last_status) = {status:String})
ORDER BY created DESC, reorder_id
LIMIT {limit:UInt32}
