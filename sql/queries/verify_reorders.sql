-- verify_reorders: the reorder oracle (DESIGN.md §3, invariant 5: no
-- duplicate reorders). Checks the replenishment pipeline's records
-- (stockflow.reorders.v1, in reorders) against each other and against the
-- receipts in stock_movements.
--
-- Returns one row per problem kind that occurs, with columns:
--   problem   'checked', 'overlap' or 'unmatched_receipt' (see below);
--   n         how many there are;
--   examples  up to 100 of them ('checked' has none), the first in
--             (sku, warehouse, reorder_id) order, as tuples (sku,
--             warehouse, reorder_id, kind, opened, closed,
--             other_reorder_id, other_opened, other_closed, received_at,
--             received_qty); fields that do not apply are NULL, '' or 0.
--
-- Rules:
--   * records are read from reorders FINAL (FINAL drops a sink replay of
--     the same record) and grouped by (sku, warehouse, reorder_id);
--   * a purchase reorder (kind 'purchase') is open from the ts of its
--     earliest 'ordered' record until the ts of its earliest 'received' or
--     'cancelled' record, [opened, closed); with neither it is open
--     forever (closed NULL). A reorder never ordered (a suggestion still
--     waiting, or rejected) is never open;
--   * 'checked' counts the reorders checked: the purchase reorders that
--     were open, and the reorders with a 'received' record;
--   * 'overlap': two purchase reorders of the same (sku, warehouse) that
--     are open at the same time, a.opened < b.closed AND b.opened <
--     a.closed. One closing at t and the next opening at t do not overlap.
--     Each pair is counted once, reported under the reorder opened first
--     (ties by reorder_id);
--   * 'unmatched_receipt': a 'received' record with no movement in
--     stock_movements FINAL of the same sku and warehouse whose ref is the
--     reorder_id and whose kind is 'receipt' (purchases) or 'transfer_in'
--     (transfers). Every such record counts, a repeated one too.
WITH
    toDateTime64('2299-12-31 23:59:59', 3, 'UTC') AS forever,
    keyed AS
    (
        SELECT
            toString(sku) AS sku,
            toString(warehouse) AS warehouse,
            reorder_id,
            countIf(status = 'ordered') AS orders,
            minIf(ts, status = 'ordered') AS opened,
            if(countIf(status IN ('received', 'cancelled')) > 0,
                CAST(minIf(ts, status IN ('received', 'cancelled')) AS Nullable(DateTime64(3, 'UTC'))),
                NULL) AS closed
        FROM reorders FINAL
        WHERE kind = 'purchase'
        GROUP BY sku, warehouse, reorder_id
    ),
    intervals AS
    (
        SELECT sku, warehouse, reorder_id, opened, closed
        FROM keyed
        WHERE orders > 0
    ),
    overlaps AS
    (
        SELECT
            a.sku AS sku,
            a.warehouse AS warehouse,
            a.reorder_id AS reorder_id,
            a.opened AS opened,
            a.closed AS closed,
            b.reorder_id AS other_reorder_id,
            b.opened AS other_opened,
            b.closed AS other_closed
        FROM intervals AS a
        INNER JOIN intervals AS b ON a.sku = b.sku AND a.warehouse = b.warehouse
        WHERE (a.opened, a.reorder_id) < (b.opened, b.reorder_id)
            AND a.opened < coalesce(b.closed, forever)
            AND b.opened < coalesce(a.closed, forever)
    ),
    received AS
    (
        SELECT
            toString(sku) AS sku,
            toString(warehouse) AS warehouse,
            reorder_id,
            toString(kind) AS kind,
            if(kind = 'transfer', 'transfer_in', 'receipt') AS movement,
            ts,
            received_qty
        FROM reorders FINAL
        WHERE status = 'received'
    ),
    receipts AS
    (
        SELECT DISTINCT toString(sku) AS sku, toString(warehouse) AS warehouse, ref, toString(kind) AS movement
        FROM stock_movements FINAL
        WHERE kind IN ('receipt', 'transfer_in') AND ref != ''
    ),
    unmatched AS
    (
        SELECT r.sku AS sku, r.warehouse AS warehouse, r.reorder_id AS reorder_id, r.kind AS kind, r.ts AS ts, r.received_qty AS received_qty
        FROM received AS r
        LEFT ANTI JOIN receipts AS m
            ON r.sku = m.sku AND r.warehouse = m.warehouse AND r.reorder_id = m.ref AND r.movement = m.movement
    ),
    problems AS
    (
        SELECT
            'checked' AS problem,
            sku,
            warehouse,
            reorder_id,
            '' AS kind,
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS opened,
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS closed,
            '' AS other_reorder_id,
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS other_opened,
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS other_closed,
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS received_at,
            toInt64(0) AS received_qty
        FROM
        (
            SELECT sku, warehouse, reorder_id FROM intervals
            UNION DISTINCT
            SELECT sku, warehouse, reorder_id FROM received
        )
        UNION ALL
        SELECT
            'overlap',
            sku,
            warehouse,
            reorder_id,
            'purchase',
            CAST(opened AS Nullable(DateTime64(3, 'UTC'))),
            CAST(closed AS Nullable(DateTime64(3, 'UTC'))),
            other_reorder_id,
            CAST(other_opened AS Nullable(DateTime64(3, 'UTC'))),
            CAST(other_closed AS Nullable(DateTime64(3, 'UTC'))),
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
            toInt64(0)
        FROM overlaps
        UNION ALL
        SELECT
            'unmatched_receipt',
            sku,
            warehouse,
            reorder_id,
            kind,
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
            '',
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
            CAST(NULL AS Nullable(DateTime64(3, 'UTC'))),
            CAST(ts AS Nullable(DateTime64(3, 'UTC'))),
            toInt64(received_qty)
        FROM unmatched
    )
SELECT
    problem,
    count() AS n,
    groupArraySortedIf(100)(
        (sku, warehouse, reorder_id, kind, opened, closed, other_reorder_id, other_opened, other_closed, received_at, received_qty),
        problem != 'checked') AS examples
FROM problems
GROUP BY problem
ORDER BY problem
