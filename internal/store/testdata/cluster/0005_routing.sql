-- 0005_routing.sql for cluster "stockflow", database stockflow: generated from sql/migrations/0005_routing.sql
-- by store.Rewriter (internal/store/cluster.go); do not edit.

-- 0005_routing: the routing pipeline's decisions (from
-- stockflow.routing.v1).
--
-- Follows the conventions of 0001_core.sql and 0004_replenish.sql.
--
-- One record of stockflow.routing.v1 (see
-- internal/event/schema/routing.v1.json) becomes one routing_decisions row
-- and one routing_assignments row per assignment. The assignments are a
-- table of their own, not a Nested column of the decision, because
-- planners ask for them by warehouse and SKU ("what did WH-BER ship of
-- SKU-1, at what cost"), which a table ordered by (warehouse, sku) answers
-- without ARRAY JOIN over every decision. The alternatives (at most
-- three, only ever read with their decision) are a Nested column.
--
-- Both keys end in the record's own coordinates in the routing topic
-- (src_partition, src_offset; the topic is keyed by order_id), as reorders
-- does: a sink replay of a record collapses (read with FINAL), while a
-- decision the pipeline wrongly emitted twice stays two rows, for
-- queries/verify_routing.sql to see.

-- One row per decision record: every routing attempt of an order; final
-- = 1 on the one that ends it (DESIGN §3 invariant 4). reason is '' for
-- routed and split; batch_id is '' for an order decided alone. The cost
-- columns are the record's breakdown (cost_total = the sum of the
-- others); units and packages summarise the assignments.
CREATE TABLE IF NOT EXISTS `stockflow`.`routing_decisions_local` ON CLUSTER 'stockflow'
(
    decision_id      String,
    order_id         String,
    ts               DateTime64(3, 'UTC'),
    status           LowCardinality(String),
    reason           LowCardinality(String),
    final            Bool,
    attempt          Int64,
    warehouses       Array(LowCardinality(String)),
    units            Int64,
    packages         UInt32,
    cost_shipping    Float64,
    cost_handling    Float64,
    cost_split       Float64,
    cost_opportunity Float64,
    cost_backorder   Float64,
    cost_total       Float64,
    alternatives Nested
    (
        status           LowCardinality(String),
        warehouses       Array(String),
        cost_shipping    Float64,
        cost_handling    Float64,
        cost_split       Float64,
        cost_opportunity Float64,
        cost_backorder   Float64,
        cost_total       Float64
    ),
    batch_id         String,
    latency_ms       Float64,
    region           LowCardinality(String),
    ship_postal_code String,
    ship_country     LowCardinality(String),
    ship_lat         Float64,
    ship_lon         Float64,
    src_partition    Int32,
    src_offset       Int64,
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/routing_decisions_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (order_id, decision_id, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`routing_decisions` ON CLUSTER 'stockflow' AS `stockflow`.`routing_decisions_local`
ENGINE = Distributed('stockflow', 'stockflow', 'routing_decisions_local', cityHash64(order_id));

-- One row per assignment of a decision record: qty units of sku from
-- warehouse, in the decision's package number package, with its share of
-- the package's shipping and handling and its opportunity cost. status,
-- final and attempt are the decision's, so that queries can keep the
-- final decisions (final = 1) without a join. line numbers the
-- assignments within the record, from 0.
CREATE TABLE IF NOT EXISTS `stockflow`.`routing_assignments_local` ON CLUSTER 'stockflow'
(
    warehouse     LowCardinality(String),
    sku           LowCardinality(String),
    ts            DateTime64(3, 'UTC'),
    order_id      String,
    decision_id   String,
    status        LowCardinality(String),
    final         Bool,
    attempt       Int64,
    line          UInt32,
    qty           Int64,
    package       UInt32,
    shipping      Float64,
    handling      Float64,
    opportunity   Float64,
    src_partition Int32,
    src_offset    Int64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/routing_assignments_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (warehouse, sku, ts, decision_id, line, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`routing_assignments` ON CLUSTER 'stockflow' AS `stockflow`.`routing_assignments_local`
ENGINE = Distributed('stockflow', 'stockflow', 'routing_assignments_local', cityHash64(sku));
