package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/pipelines/replenish"
)

// TestLoadReplenishFile loads the README's example configuration and a
// broken one: the rules, overrides and items arrive as written, and an
// invalid rule is refused with the file named.
func TestLoadReplenishFile(t *testing.T) {
	s := config.Defaults()
	s.ReplenishConfig = filepath.Join("testdata", "replenish.json")
	var setup replenishSetup
	if err := loadReplenishFile(s, &setup); err != nil {
		t.Fatal(err)
	}
	pl := setup.planning
	if r := pl.RuleFor("SKU-000001", "CZ"); r.Policy != replenish.PolicyRS || r.ReviewDays != 7 || r.Mode != replenish.ModeSuggest {
		t.Errorf("rule of a CZ key: %+v", r)
	}
	if r := pl.RuleFor("SKU-000042", "AX"); r.Policy != replenish.PolicySQ || r.CycleDays != 14 {
		t.Errorf("rule of SKU-000042 (a SKU override beats its class): %+v", r)
	}
	if r := pl.RuleFor("SKU-000001", "AY"); r.Service != 0.99 {
		t.Errorf("rule of an AY key (letter A): %+v", r)
	}
	if it := setup.items["SKU-000042"]; it.CasePack != 12 || it.MOQ != 24 || it.MaxQty != 600 || it.Supplier != "SUP-007" {
		t.Errorf("item: %+v", it)
	}
	if setup.defaultItem.Supplier != "default" || pl.Transfer.HorizonDays != 14 || pl.LeadPrior.MeanDays != 7 {
		t.Errorf("default item %+v, transfer %+v, lead prior %+v", setup.defaultItem, pl.Transfer, pl.LeadPrior)
	}

	for name, body := range map[string]string{
		"service above 1": `{"planning":{"global":{"policy":"sS","target":"fill_rate","service":1.5,"mode":"auto"}}}`,
		"misspelt key":    `{"planning":{"global":{"policy":"sS","target":"fill_rate","servce":0.9,"mode":"auto"}}}`,
	} {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		s.ReplenishConfig = bad
		setup = replenishSetup{items: map[event.SKU]replenish.Item{}}
		if err := loadReplenishFile(s, &setup); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
