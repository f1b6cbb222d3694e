package event_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/event/eventtest"
)

// TestWindowSchema proves windows.v1.json and the event.Window type agree: every
// field the type writes is in the schema (which forbids others), and the
// schema rejects what the type must never write.
func TestWindowSchema(t *testing.T) {
	sch := eventtest.Schema(t, "windows.v1.json")
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	good := event.Window{
		SKU: "SKU-1", Warehouse: "WH-BER", Size: event.WindowDay, Start: day, End: day.Add(24 * time.Hour),
		Kind: event.WindowFinal, Units: 12, Revenue: 119.88, Sales: 5, StockoutSeconds: 3600,
		Velocity7: 1.5, Velocity28: 0.75, StreamTime: day.Add(26 * time.Hour),
	}
	hour := good
	hour.Size, hour.End, hour.Kind, hour.StockoutSeconds, hour.Velocity7, hour.Velocity28 = event.WindowHour, day.Add(time.Hour), event.WindowCorrection, 0, 0, 0
	for name, w := range map[string]event.Window{"day final": good, "hour correction": hour} {
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := eventtest.Validate(sch, b); err != nil {
			t.Errorf("%s: schema rejects a record the type writes: %v\n%s", name, err, b)
		}
		var back event.Window
		if err := json.Unmarshal(b, &back); err != nil || !back.Start.Equal(w.Start) || back != w {
			t.Errorf("%s: round trip changed the record: %+v -> %+v (%v)", name, w, back, err)
		}
	}
	b, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"unknown size":   strings.Replace(string(b), `"size":"1d"`, `"size":"1w"`, 1),
		"unknown kind":   strings.Replace(string(b), `"kind":"final"`, `"kind":"partial"`, 1),
		"negative sales": strings.Replace(string(b), `"sales":5`, `"sales":-1`, 1),
		"extra field":    strings.Replace(string(b), `{`, `{"extra":1,`, 1),
		"missing units":  strings.Replace(string(b), `"units":12,`, ``, 1),
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
