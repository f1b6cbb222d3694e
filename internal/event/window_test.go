package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestWindowSchema proves windows.v1.json and the Window type agree: every
// field the type writes is in the schema (which forbids others), and the
// schema rejects what the type must never write.
func TestWindowSchema(t *testing.T) {
	sch := compileSchema(t, "windows.v1.json")
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	good := Window{
		SKU: "SKU-1", Warehouse: "WH-BER", Size: WindowDay, Start: day, End: day.Add(24 * time.Hour),
		Kind: WindowFinal, Units: 12, Revenue: 119.88, Sales: 5, StockoutSeconds: 3600,
		Velocity7: 1.5, Velocity28: 0.75, StreamTime: day.Add(26 * time.Hour),
	}
	hour := good
	hour.Size, hour.End, hour.Kind, hour.StockoutSeconds, hour.Velocity7, hour.Velocity28 = WindowHour, day.Add(time.Hour), WindowCorrection, 0, 0, 0
	for name, w := range map[string]Window{"day final": good, "hour correction": hour} {
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := schemaCheck(sch, b); err != nil {
			t.Errorf("%s: schema rejects a record the type writes: %v\n%s", name, err, b)
		}
		var back Window
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
		if err := schemaCheck(sch, []byte(v)); err == nil {
			t.Errorf("%s: schema accepts %s", name, v)
		}
	}
}
