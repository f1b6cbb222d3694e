-- 0004_replenish.sql for cluster "stockflow", database stockflow: generated from sql/migrations/0004_replenish.sql
-- by store.Rewriter (internal/store/cluster.go); do not edit.

-- 0004_replenish: the replenishment pipeline's decisions (from
-- stockflow.reorders.v1).
--
-- Follows the conventions of 0001_core.sql.

-- One row per record of stockflow.reorders.v1: every decision and every
-- status change of a purchase reorder or a lateral transfer, with the
-- numbers that explain it (see internal/event/schema/reorders.v1.json). A
-- reorder's rows share its reorder_id; it is open from its 'ordered' row
-- until its first 'received' or 'cancelled' row (queries/verify_reorders.sql
-- checks that the purchase reorders of one (sku, warehouse) never overlap).
--
-- The key ends in the record's own coordinates in the reorders topic
-- (src_partition, src_offset; the topic is keyed by sku and partitioned
-- like the inputs), as demand_windows does: a sink replay of a record
-- collapses (read with FINAL), while a decision the pipeline wrongly
-- emitted twice stays two rows, for the checks to see.
--
-- Optional fields of the record are '' or 0 when absent: from_warehouse
-- (purchases), supplier, class, received_qty (until received),
-- transfer_cost and shortage_cost (purchases); forecast_run_id is '' when
-- demand_source is 'sales'. expected_by is ts plus the lead time.
CREATE TABLE IF NOT EXISTS `stockflow`.`reorders_local` ON CLUSTER 'stockflow'
(
    reorder_id         String,
    kind               LowCardinality(String),
    status             LowCardinality(String),
    ts                 DateTime64(3, 'UTC'),
    sku                LowCardinality(String),
    warehouse          LowCardinality(String),
    from_warehouse     LowCardinality(String),
    supplier           LowCardinality(String),
    cycle              Int64,
    qty                Int64,
    received_qty       Int64,
    reason             LowCardinality(String),
    mode               LowCardinality(String),
    policy             LowCardinality(String),
    target             LowCardinality(String),
    service            Float64,
    class              LowCardinality(String),
    inventory_position Int64,
    on_hand            Int64,
    on_order           Int64,
    in_transit         Int64,
    backorders         Int64,
    reserved           Int64,
    reorder_point      Float64,
    order_up_to        Float64,
    order_qty          Float64,
    safety_stock       Float64,
    lead_demand        Float64,
    lead_demand_sd     Float64,
    daily_demand       Float64,
    lead_time_days     Float64,
    lead_time_sd_days  Float64,
    forecast_run_id    String,
    demand_source      LowCardinality(String),
    unit_cost          Float64,
    expected_by        DateTime64(3, 'UTC'),
    transfer_cost      Float64,
    shortage_cost      Float64,
    src_partition      Int32,
    src_offset         Int64,
    ingested_at        DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/reorders_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (sku, warehouse, reorder_id, status, ts, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`reorders` ON CLUSTER 'stockflow' AS `stockflow`.`reorders_local`
ENGINE = Distributed('stockflow', 'stockflow', 'reorders_local', cityHash64(sku));
