-- 0001_core.sql for cluster "stockflow", database stockflow: generated from sql/migrations/0001_core.sql
-- by store.Rewriter (internal/store/cluster.go); do not edit.

--   * raw tables are ReplacingMergeTree keyed on the event and where it was
--     read from (src_topic, src_partition, src_offset): a sink replay of the
--     same record collapses (read with FINAL), while an event id re-sent
--     after the deduplication window, which the ledger applied again, stays
--     a row of its own, so the oracle in verify_stock.sql counts it too.

CREATE TABLE IF NOT EXISTS `stockflow`.`sales_local` ON CLUSTER 'stockflow'
(
    event_id      String,
    ts            DateTime64(3, 'UTC'),
    sku           LowCardinality(String),
    warehouse     LowCardinality(String),
    qty           Int64,
    order_id      String,
    channel       LowCardinality(String),
    unit_price    Float64,
    currency      LowCardinality(String),
    src_topic     LowCardinality(String),
    src_partition Int32,
    src_offset    Int64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/sales_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (sku, warehouse, ts, event_id, src_topic, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`sales` ON CLUSTER 'stockflow' AS `stockflow`.`sales_local`
ENGINE = Distributed('stockflow', 'stockflow', 'sales_local', cityHash64(sku));

-- delta is the on-hand change the stock pipeline applied for the movement
-- (0 when it was ignored or superseded); the oracle in
-- queries/verify_stock.sql recomputes it from kind and qty instead.
CREATE TABLE IF NOT EXISTS `stockflow`.`stock_movements_local` ON CLUSTER 'stockflow'
(
    event_id      String,
    ts            DateTime64(3, 'UTC'),
    sku           LowCardinality(String),
    warehouse     LowCardinality(String),
    kind          LowCardinality(String),
    qty           Int64,
    delta         Int64,
    ref           String,
    src_topic     LowCardinality(String),
    src_partition Int32,
    src_offset    Int64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/stock_movements_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (sku, warehouse, ts, event_id, src_topic, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`stock_movements` ON CLUSTER 'stockflow' AS `stockflow`.`stock_movements_local`
ENGINE = Distributed('stockflow', 'stockflow', 'stock_movements_local', cityHash64(sku));

-- lines is Nested: insert and read it as the arrays lines.sku and
-- lines.qty (ARRAY JOIN lines for one row per line).
CREATE TABLE IF NOT EXISTS `stockflow`.`orders_local` ON CLUSTER 'stockflow'
(
    event_id         String,
    ts               DateTime64(3, 'UTC'),
    order_id         String,
    lines            Nested(sku String, qty Int64),
    ship_postal_code String,
    ship_country     LowCardinality(String),
    ship_lat         Float64,
    ship_lon         Float64,
    service_level    LowCardinality(String),
    promised_by      DateTime64(3, 'UTC'),
    src_topic        LowCardinality(String),
    src_partition    Int32,
    src_offset       Int64,
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/orders_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (order_id, event_id, src_topic, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`orders` ON CLUSTER 'stockflow' AS `stockflow`.`orders_local`
ENGINE = Distributed('stockflow', 'stockflow', 'orders_local', cityHash64(order_id));

-- start and end are keywords in some positions: quote them as `start`, `end`.
CREATE TABLE IF NOT EXISTS `stockflow`.`campaigns_local` ON CLUSTER 'stockflow'
(
    event_id        String,
    ts              DateTime64(3, 'UTC'),
    campaign_id     String,
    skus            Array(String),
    category        LowCardinality(String),
    regions         Array(String),
    warehouses      Array(String),
    `start`         DateTime64(3, 'UTC'),
    `end`           DateTime64(3, 'UTC'),
    expected_uplift Float64,
    src_topic       LowCardinality(String),
    src_partition   Int32,
    src_offset      Int64,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/campaigns_local', '{replica}')
ORDER BY (campaign_id, event_id, src_topic, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`campaigns` ON CLUSTER 'stockflow' AS `stockflow`.`campaigns_local`
ENGINE = Distributed('stockflow', 'stockflow', 'campaigns_local', cityHash64(campaign_id));

-- The ledger snapshot written by the stock pipeline; the row with the
-- highest version wins (read with FINAL).
CREATE TABLE IF NOT EXISTS `stockflow`.`stock_levels_local` ON CLUSTER 'stockflow'
(
    sku           LowCardinality(String),
    warehouse     LowCardinality(String),
    on_hand       Int64,
    reserved      Int64,
    available     Int64,
    last_event_ts DateTime64(3, 'UTC'),
    version       UInt64,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/stock_levels_local', '{replica}', version)
ORDER BY (sku, warehouse)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`stock_levels` ON CLUSTER 'stockflow' AS `stockflow`.`stock_levels_local`
ENGINE = Distributed('stockflow', 'stockflow', 'stock_levels_local', cityHash64(sku));

-- Dead-lettered records keep the original key and value bytes and where
-- they were read from; ts is when they were dead-lettered. A source record
-- is dead-lettered once, so its coordinates are the key (read with FINAL).
CREATE TABLE IF NOT EXISTS `stockflow`.`dlq_local` ON CLUSTER 'stockflow'
(
    ts            DateTime64(3, 'UTC'),
    src_topic     LowCardinality(String),
    src_partition Int32,
    src_offset    Int64,
    event_type    LowCardinality(String),
    reason        LowCardinality(String),
    message       String,
    key           String,
    value         String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/dlq_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (src_topic, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`dlq` ON CLUSTER 'stockflow' AS `stockflow`.`dlq_local`
ENGINE = Distributed('stockflow', 'stockflow', 'dlq_local', cityHash64(src_topic, src_partition, src_offset));

CREATE TABLE IF NOT EXISTS `stockflow`.`warehouses_local` ON CLUSTER 'stockflow'
(
    id         String,
    region     LowCardinality(String),
    lat        Float64,
    lon        Float64,
    name       String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/warehouses_local', '{replica}', updated_at)
ORDER BY id
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`warehouses` ON CLUSTER 'stockflow' AS `stockflow`.`warehouses_local`
ENGINE = Distributed('stockflow', 'stockflow', 'warehouses_local', cityHash64(id));
