-- api_forecast_accuracy: forecast accuracy by model, for the model mix a
-- planner trusts: of every (sku, warehouse), the accuracy of the latest
-- training run whose cutoff falls between {from} and {to} (forecast_accuracy
-- FINAL; the newest run of that cutoff when there are several), grouped by
-- the model chosen for the series. Filtered by skus, warehouses and
-- regions.
--
-- Columns: model; series (how many series it was chosen for); mase and
-- rmsse (scaled by the in-sample one-step naive error: below 1 beats it),
-- wape and bias (relative to actual units; bias > 0 over-forecasts),
-- pinball (mean scaled pinball loss of the quantiles), coverage_90 (share
-- of days inside the 90% interval: 0.9 is calibrated) — each the mean over
-- the series where it is defined, NULL when none; censored_days, the
-- stocked-out days excluded from the accuracy; last_cutoff, the newest
-- cutoff among the series.
WITH
    latest AS
    (
        -- One tuple per series, so that a NULL figure of the latest run
        -- is not replaced by an older run's (argMax skips NULL arguments).
        SELECT
            toString(sku)       AS sku,
            toString(warehouse) AS warehouse,
            argMax((toString(model), mase, rmsse, wape, bias, pinball, coverage_90, n_censored_days, cutoff),
                   (cutoff, created_at, run_id)) AS r
        FROM forecast_accuracy FINAL
        WHERE cutoff >= toDate({from:DateTime64(3)}, 'UTC')
          AND cutoff <= toDate({to:DateTime64(3)}, 'UTC')
          AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
          AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
          AND (empty({regions:Array(String)})
               OR warehouse IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
        GROUP BY sku, warehouse
    )
SELECT
    r.1                          AS model,
    count()                      AS series,
    avgOrNull(r.2)               AS mase,
    avgOrNull(r.3)               AS rmsse,
    avgOrNull(r.4)               AS wape,
    avgOrNull(r.5)               AS bias,
    avgOrNull(r.6)               AS pinball,
    avgOrNull(r.7)               AS coverage_90,
    toInt64(sum(r.8))            AS censored_days,
    max(r.9)                     AS last_cutoff
FROM latest
GROUP BY model
ORDER BY series DESC, model
