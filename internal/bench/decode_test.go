package bench

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	res, err := Decode(context.Background(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	for name, v := range map[string]float64{
		"stockflow_eps": res.StockflowEPS, "encoding_json_eps": res.EncodingJSONEPS, "ratio": res.Ratio,
	} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive finite number", name, v)
		}
	}
	if want := res.StockflowEPS / res.EncodingJSONEPS; math.Abs(res.Ratio-want) > 1e-9*want {
		t.Errorf("ratio %v, want %v", res.Ratio, want)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"stockflow_eps", "encoding_json_eps", "ratio"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s has no %q", b, k)
		}
	}
}

func TestDecodeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Decode(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Decode with a canceled context: %v", err)
	}
}

func TestCorpusDeterministic(t *testing.T) {
	a, err := corpus(200, corpusSeed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := corpus(200, corpusSeed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].typ != b[i].typ || string(a[i].data) != string(b[i].data) {
			t.Fatalf("record %d differs between runs: %s vs %s", i, a[i].data, b[i].data)
		}
	}
}
