package forecast

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
)

// Record returns the stockflow.forecasts.v1 record of r.Forecasts[i].
func (r *Result) Record(i int) event.Forecast {
	f := &r.Forecasts[i]
	rec := event.Forecast{
		RunID:     r.RunID,
		SKU:       f.Key.SKU,
		Warehouse: f.Key.Warehouse,
		Cutoff:    r.Cutoff.Format(time.DateOnly),
		Model:     f.Model,
		Days:      make([]event.ForecastDay, len(f.Days)),
		Accuracy: event.ForecastAccuracy{
			EvalDays:     f.Accuracy.EvalDays,
			CensoredDays: f.Accuracy.CensoredDays,
			MASE:         finite(f.Accuracy.MASE),
			RMSSE:        finite(f.Accuracy.RMSSE),
			WAPE:         finite(f.Accuracy.WAPE),
			Bias:         finite(f.Accuracy.Bias),
			Pinball:      finite(f.Accuracy.Pinball),
			Coverage90:   finite(f.Accuracy.Coverage90),
		},
	}
	if i < len(r.Classes) {
		rec.Class = r.Classes[i]
	}
	for k, d := range f.Days {
		rec.Days[k] = event.ForecastDay{
			Day: d.Day.Format(time.DateOnly), Horizon: d.Horizon,
			Mean: d.Mean, P05: d.P05, P10: d.P10, P50: d.P50, P90: d.P90, P95: d.P95, P99: d.P99,
			Uplift: d.Uplift,
		}
	}
	return rec
}

// finite returns v rounded to 6 decimals, or nil when it is NaN or
// infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	v = math.Round(v*1e6) / 1e6
	return &v
}

// Publish produces one record per forecast series of r to topic (normally
// event.TopicForecasts), keyed by SKU so that it lands in the partition of
// the SKU's sales, with the x-stockflow-run-id header, and returns once the
// brokers acknowledged every record or the first failed. The records of a
// run are a function of its input, so publishing a run again (with the
// same run id) repeats the same bytes, which consumers can recognise.
func Publish(ctx context.Context, cl *kgo.Client, topic string, r *Result) error {
	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for i := range r.Forecasts {
		b, err := json.Marshal(r.Record(i))
		if err != nil {
			return fmt.Errorf("encode forecast %s: %w", r.Forecasts[i].Key, err)
		}
		rec := &kgo.Record{
			Topic:   topic,
			Key:     []byte(r.Forecasts[i].Key.SKU),
			Value:   b,
			Headers: []kgo.RecordHeader{{Key: event.HeaderRunID, Value: []byte(r.RunID)}},
		}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				fail(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("publish forecasts: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return fmt.Errorf("publish forecasts: %w", firstErr)
	}
	return nil
}
