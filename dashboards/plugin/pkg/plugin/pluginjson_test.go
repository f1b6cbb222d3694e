package plugin

import (
	"encoding/json"
	"os"
	"testing"
)

// TestPluginJSON checks plugin.json against what Grafana needs to load
// this backend: the id, a backend with alerting and streaming, and the
// executable's base name that deploy/scripts/build-plugin.sh builds.
func TestPluginJSON(t *testing.T) {
	b, err := os.ReadFile("../../plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	var pj struct {
		Type, ID, Executable         string
		Backend, Alerting, Streaming bool
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		t.Fatal(err)
	}
	if pj.Type != "datasource" || pj.ID != ID || pj.Executable != "gpx_stockflow" || !pj.Backend || !pj.Alerting || !pj.Streaming {
		t.Fatalf("plugin.json %+v", pj)
	}
}
