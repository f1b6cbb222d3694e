-- 0003_forecasts.sql for cluster "stockflow", database stockflow: generated from sql/migrations/0003_forecasts.sql
-- by store.Rewriter (internal/store/cluster.go); do not edit.

-- the latest forecast of a series is its rows of the newest cutoff (or of
-- the newest run in forecast_runs).
CREATE TABLE IF NOT EXISTS `stockflow`.`forecasts_local` ON CLUSTER 'stockflow'
(
    run_id     String,
    created_at DateTime64(3, 'UTC'),
    cutoff     Date,
    sku        LowCardinality(String),
    warehouse  LowCardinality(String),
    model      LowCardinality(String),
    day        Date,
    horizon    UInt16,
    mean       Float64,
    p05        Float64,
    p10        Float64,
    p50        Float64,
    p90        Float64,
    p95        Float64,
    p99        Float64,
    uplift     Float64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/forecasts_local', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (sku, warehouse, day, cutoff, run_id)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`forecasts` ON CLUSTER 'stockflow' AS `stockflow`.`forecasts_local`
ENGINE = Distributed('stockflow', 'stockflow', 'forecasts_local', cityHash64(sku));

-- One row per (run, sku, warehouse): the chosen model refitted without the
-- last horizon days before the cutoff and scored on them, on the days that
-- were not stocked out. A measure is NULL when it is undefined for the
-- series (no scored day, or a zero scale). mase and rmsse are scaled by
-- the in-sample one-step naive error; wape = sum|y - mean| / sum y; bias =
-- sum(mean - y) / sum y (positive: over-forecast); pinball is the mean
-- scaled pinball loss over p10, p50, p90, p95, p99; coverage_90 the share
-- of scored days inside [p05, p95]. n_censored_days counts the censored
-- (stocked-out) days of the whole history; backtest_error is the chosen
-- model's error in the rolling-origin backtest that chose it.
CREATE TABLE IF NOT EXISTS `stockflow`.`forecast_accuracy_local` ON CLUSTER 'stockflow'
(
    run_id          String,
    created_at      DateTime64(3, 'UTC'),
    cutoff          Date,
    sku             LowCardinality(String),
    warehouse       LowCardinality(String),
    model           LowCardinality(String),
    history_days    UInt32,
    eval_days       UInt16,
    n_censored_days UInt32,
    mase            Nullable(Float64),
    rmsse           Nullable(Float64),
    wape            Nullable(Float64),
    bias            Nullable(Float64),
    pinball         Nullable(Float64),
    coverage_90     Nullable(Float64),
    backtest_error  Nullable(Float64)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/forecast_accuracy_local', '{replica}')
PARTITION BY toYYYYMM(cutoff)
ORDER BY (sku, warehouse, cutoff, run_id)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`forecast_accuracy` ON CLUSTER 'stockflow' AS `stockflow`.`forecast_accuracy_local`
ENGINE = Distributed('stockflow', 'stockflow', 'forecast_accuracy_local', cityHash64(sku));

-- campaigns holds every campaign the run considered: its announced uplift,
-- the realised one measured against the baseline in the history (nan when
-- there was too little of it) and the one applied, with the series, sold
-- units and baseline units it was measured on; calibration is the factor
-- applied to announced uplifts without an estimate. The accuracy figures
-- are means over the series where they are defined.
CREATE TABLE IF NOT EXISTS `stockflow`.`forecast_runs_local` ON CLUSTER 'stockflow'
(
    run_id         String,
    started_at     DateTime64(3, 'UTC'),
    finished_at    DateTime64(3, 'UTC'),
    cutoff         Date,
    horizon        UInt16,
    min_history    UInt32,
    censor_seconds Int64,
    models         LowCardinality(String),
    series         UInt64,
    skipped        UInt64,
    censored_days  UInt64,
    chosen         Nested(model String, series UInt64),
    campaigns      Nested(campaign_id String, expected Float64, realised Float64, applied Float64, series UInt64, sold Float64, baseline Float64),
    calibration    Float64,
    mase           Nullable(Float64),
    rmsse          Nullable(Float64),
    wape           Nullable(Float64),
    coverage_90    Nullable(Float64),
    published      UInt64,
    seconds        Float64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/forecast_runs_local', '{replica}', finished_at)
ORDER BY run_id
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`forecast_runs` ON CLUSTER 'stockflow' AS `stockflow`.`forecast_runs_local`
ENGINE = Distributed('stockflow', 'stockflow', 'forecast_runs_local', cityHash64(run_id));
