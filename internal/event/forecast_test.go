package event_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/event/eventtest"
)

// TestForecastSchema proves forecasts.v1.json and the event.Forecast type agree:
// records the type writes validate (with and without undefined accuracy
// measures), they round-trip, and the schema rejects what the type must
// never write.
func TestForecastSchema(t *testing.T) {
	sch := eventtest.Schema(t, "forecasts.v1.json")
	f := func(v float64) *float64 { return &v }
	good := event.Forecast{
		RunID: "fc-20260301-0123456789abcdef", SKU: "SKU-1", Warehouse: "WH01", Cutoff: "2026-03-01",
		Model: "mean(ewma0.05*p7,tsb*p7)",
		Days: []event.ForecastDay{
			{Day: "2026-03-02", Horizon: 1, Mean: 3.2, P05: 0, P10: 1, P50: 3, P90: 5.5, P95: 6.1, P99: 8.25},
			{Day: "2026-03-03", Horizon: 2, Mean: 4.0, P05: 0.5, P10: 1.25, P50: 3.75, P90: 6.875, P95: 7.625, P99: 10.3125, Uplift: 0.25},
		},
		Accuracy: event.ForecastAccuracy{
			EvalDays: 26, CensoredDays: 2, MASE: f(0.81), RMSSE: f(0.77), WAPE: f(0.42), Bias: f(-0.05),
			Pinball: f(0.21), Coverage90: f(0.92),
		},
	}
	undefined := good
	undefined.Accuracy = event.ForecastAccuracy{CensoredDays: 30}
	for name, rec := range map[string]event.Forecast{"scored": good, "not scored": undefined} {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := eventtest.Validate(sch, b); err != nil {
			t.Errorf("%s: schema rejects a record the type writes: %v\n%s", name, err, b)
		}
		var back event.Forecast
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, rec) {
			t.Errorf("%s: round trip changed the record: %+v -> %+v (%v)", name, rec, back, err)
		}
	}

	b, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"extra field":       strings.Replace(string(b), `{"run_id"`, `{"extra":1,"run_id"`, 1),
		"extra day field":   strings.Replace(string(b), `{"day"`, `{"x":1,"day"`, 1),
		"missing model":     strings.Replace(string(b), `"model":"mean(ewma0.05*p7,tsb*p7)",`, ``, 1),
		"cutoff not a date": strings.Replace(string(b), `"cutoff":"2026-03-01"`, `"cutoff":"2026-03-01T00:00:00Z"`, 1),
		"day not a date":    strings.Replace(string(b), `"day":"2026-03-02"`, `"day":"2026-02-30"`, 1),
		"negative quantile": strings.Replace(string(b), `"p10":1,`, `"p10":-1,`, 1),
		"horizon zero":      strings.Replace(string(b), `"horizon":1,`, `"horizon":0,`, 1),
		"no days":           strings.Replace(string(b), string(mustJSON(t, good.Days)), `[]`, 1),
		"coverage above 1":  strings.Replace(string(b), `"coverage_90":0.92`, `"coverage_90":1.5`, 1),
		"missing mase":      strings.Replace(string(b), `"mase":0.81,`, ``, 1),
	}
	for name, v := range bad {
		if v == string(b) {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if err := eventtest.Validate(sch, []byte(v)); err == nil {
			t.Errorf("%s: schema accepts %s", name, v)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
