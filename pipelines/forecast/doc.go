// Package forecast is the demand-forecast training pipeline (DESIGN.md §7,
// issue 4): from daily demand per (SKU, warehouse) to 28 days of quantile
// forecasts, per-series accuracy and the records of
// stockflow.forecasts.v1. It is pure functions over in-memory series plus a
// Kafka publisher; reading and writing ClickHouse is the caller's job
// (cmd/stockflow wires it to the store), so it must not import the
// ClickHouse driver, chDB or internal/store.
//
// # Steps of Train
//
//  1. Series (BuildSeries): units sold per UTC day from the key's first sale
//     through the cutoff, zero on days without sales. A day whose stockout
//     time reaches the threshold (default 4 h) is censored: its observed
//     demand is only a lower bound.
//  2. Realised campaign uplift (phase A, all series in parallel): for each
//     campaign that ran before the cutoff, the units sold on its whole,
//     uncensored days in every series it targets are compared with a
//     baseline forecast (the mean of the 28 days before the campaign times
//     the day-of-week profile, fitted on the history before it starts).
//     Pooled over the campaign's series, realised = Σ sold / Σ baseline − 1
//     once the baseline holds at least MinUpliftBaseline units. Announced
//     uplifts of campaigns without an estimate are calibrated by κ =
//     Σ (sold − baseline) / Σ (baseline × expected) over the estimated
//     campaigns (once there are MinUpliftCampaigns of them, clamped to
//     [0.25, 4]); κ = 1 otherwise.
//  3. Cleaning (phase B, per series): campaign days in the history are
//     divided by their uplift factor (realised, else calibrated announced),
//     so the model learns the baseline; then every censored day is imputed
//     with max(observed, level × day-of-week index), where the level is the
//     mean of the de-seasonalised uncensored days of the 28 days before it
//     (the next 28 after it when there are none before, else the whole
//     series) and the index is the series' day-of-week profile from
//     uncensored days. The flag is kept: censored days count in
//     CensoredDays and are never scored.
//  4. Model choice: models/backtest.Auto on the cleaned series (period 7,
//     the horizon as backtest horizon, squared scaled error, origins that
//     leave at least four weeks of training), among the candidates of the
//     model set (see ModelSet); the winner is refitted on the whole cleaned
//     series. A series too short for one origin (under horizon + 28 days)
//     gets the first candidate that fits it. The backtest targets on
//     censored days are the imputed values.
//  5. Forecast: mean and quantiles p05…p99 for Horizon days after the
//     cutoff, floored at zero and sorted per day (so p05 ≤ p10 ≤ … ≤ p99),
//     then multiplied by the day's campaign factor Π (1 + u·share), where
//     share is the part of the UTC day inside the campaign and u its
//     realised uplift if it is running and was estimated, else the
//     calibrated announced one. The factor − 1 is the Uplift of the day.
//  6. Accuracy: the chosen model refitted on the cleaned series without its
//     last Horizon days, forecast over them with the same uplift factors,
//     and scored against the observed units of the days that were not
//     censored (MASE, RMSSE, WAPE, bias, scaled pinball, 90% coverage).
//     The choice itself saw those days, so the figures are slightly
//     optimistic; the uplift estimates may have too.
//
// Series are processed by GOMAXPROCS workers (Config.Workers); results are
// in key order and the same input gives the same output, run id included
// (RunID hashes the cutoff, the settings and the input).
package forecast
