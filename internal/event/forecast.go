package event

// TopicForecasts carries the demand forecasts of each training run of the
// forecast pipeline: one record per (SKU, warehouse) and run, keyed by SKU.
const TopicForecasts = "stockflow.forecasts.v1"

// HeaderRunID is the header naming the training run of a forecast record
// (the same value as the record's run_id).
const HeaderRunID = "x-stockflow-run-id"

// Forecast is one record of stockflow.forecasts.v1: the daily demand
// forecast of one (SKU, warehouse) from one training run, with the accuracy
// of the chosen model in its backtest. Its content is a function of the
// run's input only (no wall-clock time), so the records of a run that is
// repeated with the same run id are byte for byte the same.
type Forecast struct {
	RunID     string      `json:"run_id"`
	SKU       SKU         `json:"sku"`
	Warehouse WarehouseID `json:"warehouse"`
	// Cutoff is the last day of training data (UTC date, YYYY-MM-DD); the
	// forecast starts the day after.
	Cutoff string `json:"cutoff"`
	// Model is the model chosen for the series by the backtest, e.g.
	// "ewma0.05*p7" or "mean(mean28*p7,tsb*p7)".
	Model string `json:"model"`
	// Class is the ABC/XYZ class of the key over the training history
	// ("AX" … "CZ"), or "" when the run did not classify. Replenishment
	// picks its rule per class.
	Class string `json:"class,omitempty"`
	// Days are the forecast days in order, horizon 1, 2, ...
	Days     []ForecastDay    `json:"days"`
	Accuracy ForecastAccuracy `json:"accuracy"`
}

// ForecastDay is the forecast of one day: the mean and the quantiles of
// units demanded, campaign uplift included, with P05 ≤ P10 ≤ P50 ≤ P90 ≤
// P95 ≤ P99.
type ForecastDay struct {
	// Day is the UTC date (YYYY-MM-DD).
	Day     string  `json:"day"`
	Horizon int     `json:"horizon"`
	Mean    float64 `json:"mean"`
	P05     float64 `json:"p05"`
	P10     float64 `json:"p10"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	// Uplift is the relative campaign uplift applied to the day (0.25
	// means the baseline was multiplied by 1.25; 0 outside campaigns).
	Uplift float64 `json:"uplift"`
}

// ForecastAccuracy is the chosen model's accuracy on the last days before
// the cutoff (a hold-out as long as the horizon), scored on the days that
// were not stocked out. A measure is null when it is undefined for the
// series (no scored day, or a zero scale).
type ForecastAccuracy struct {
	// EvalDays is the number of scored days; CensoredDays the number of
	// stocked-out days in the whole training history.
	EvalDays     int `json:"eval_days"`
	CensoredDays int `json:"censored_days"`
	// MASE is scaled by the in-sample one-step naive error (m = 1);
	// RMSSE as in M5.
	MASE  *float64 `json:"mase"`
	RMSSE *float64 `json:"rmsse"`
	// WAPE is Σ|y−f|/Σy and Bias Σ(f−y)/Σy, as fractions.
	WAPE *float64 `json:"wape"`
	Bias *float64 `json:"bias"`
	// Pinball is the mean scaled pinball loss over p10, p50, p90, p95 and
	// p99 (M5's SPL at those levels).
	Pinball *float64 `json:"pinball"`
	// Coverage90 is the share of scored days inside [p05, p95].
	Coverage90 *float64 `json:"coverage_90"`
}
