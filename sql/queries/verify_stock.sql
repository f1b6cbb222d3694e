-- verify_stock: the conservation oracle (DESIGN.md §3, invariant 1).
--
-- Recomputes on-hand per (sku, warehouse) from the raw event tables alone,
-- independently of the stock pipeline, and sets it beside the pipeline's
-- ledger snapshot (stock_levels FINAL). Columns: sku, warehouse, expected,
-- stored; a pair present on one side only shows 0 on the other.
--
-- Rules:
--   * the latest `count` movement, by (ts, event_id), sets the absolute level
--     as of its ts; with no count the level starts at 0;
--   * every other movement and every sale with ts strictly after that count
--     adds its delta, computed from kind and qty (never from the delta
--     column the pipeline wrote): receipt, transfer_in, return add qty;
--     transfer_out, damage subtract qty; adjustment adds its signed qty;
--     a sale subtracts qty; unknown kinds add nothing.
WITH
    movements AS
    (
        SELECT
            sku,
            warehouse,
            ts,
            event_id,
            toUInt8(kind = 'count') AS is_count,
            multiIf(
                kind = 'count', qty,
                kind IN ('receipt', 'transfer_in', 'return'), qty,
                kind IN ('transfer_out', 'damage'), -qty,
                kind = 'adjustment', qty,
                toInt64(0)) AS amount
        FROM stock_movements FINAL
        UNION ALL
        SELECT sku, warehouse, ts, event_id, toUInt8(0) AS is_count, -qty AS amount
        FROM sales FINAL
    ),
    last_count AS
    (
        SELECT
            sku,
            warehouse,
            argMax(amount, (ts, event_id)) AS count_qty,
            max(ts) AS count_ts
        FROM movements
        WHERE is_count = 1
        GROUP BY sku, warehouse
    ),
    expected AS
    (
        SELECT
            m.sku AS sku,
            m.warehouse AS warehouse,
            coalesce(any(c.count_qty), 0)
                + sumIf(m.amount, m.is_count = 0 AND (c.count_ts IS NULL OR m.ts > c.count_ts)) AS expected
        FROM movements AS m
        LEFT JOIN last_count AS c ON m.sku = c.sku AND m.warehouse = c.warehouse
        GROUP BY m.sku, m.warehouse
    )
SELECT
    toString(coalesce(e.sku, l.sku)) AS sku,
    toString(coalesce(e.warehouse, l.warehouse)) AS warehouse,
    toInt64(coalesce(e.expected, 0)) AS expected,
    toInt64(coalesce(l.on_hand, 0)) AS stored
FROM expected AS e
FULL OUTER JOIN
(
    SELECT sku, warehouse, on_hand
    FROM stock_levels FINAL
) AS l ON e.sku = l.sku AND e.warehouse = l.warehouse
ORDER BY sku, warehouse
SETTINGS join_use_nulls = 1
