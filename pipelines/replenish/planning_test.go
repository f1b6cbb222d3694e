package replenish

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
)

func TestDefaultPlanning(t *testing.T) {
	p := DefaultPlanning()
	if err := p.Validate(); err != nil {
		t.Fatalf("DefaultPlanning does not validate: %v", err)
	}
	for _, c := range []Class{"AX", "BY", "CZ"} {
		r := p.RuleFor("SKU-1", c)
		if r.Policy != PolicySS || r.Target != TargetFillRate || r.Mode != ModeAuto {
			t.Errorf("class %s: rule %+v, want (s, S) on a fill rate in auto mode", c, r)
		}
	}
	a, b, c := p.RuleFor("x", "AX").Service, p.RuleFor("x", "BX").Service, p.RuleFor("x", "CX").Service
	if !(a >= b && b >= c) {
		t.Errorf("services A %v, B %v, C %v: want A ≥ B ≥ C", a, b, c)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"global"`, `"classes"`, `"lead_prior"`, `"mean_days"`, `"order_cost"`, `"holding_rate"`, `"excess_cover_days"`, `"horizon_days"`, `"cost_per_shipment"`, `"same_region_days"`, `"class"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("JSON %s: no key %s", raw, key)
		}
	}
	var back Planning
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("JSON round trip: %+v, want %+v", back, p)
	}
}

func TestPlanningRuleFor(t *testing.T) {
	rule := func(s float64) Rule {
		return Rule{Policy: PolicySS, Target: TargetCycleService, Service: s, Mode: ModeAuto}
	}
	p := Planning{
		Global:  rule(0.9),
		Classes: map[string]Rule{"A": rule(0.95), "AX": rule(0.97), "C": rule(0.8)},
		SKUs:    map[event.SKU]Rule{"SKU-7": {Policy: PolicyRS, Target: TargetFillRate, Service: 0.99, ReviewDays: 7, Mode: ModeSuggest}},
	}
	tests := []struct {
		name  string
		sku   event.SKU
		class Class
		want  Rule
	}{
		{"global", "SKU-1", "BY", rule(0.9)},
		{"no class: global", "SKU-1", "", rule(0.9)},
		{"value letter", "SKU-1", "AZ", rule(0.95)},
		{"full class over its letter", "SKU-1", "AX", rule(0.97)},
		{"other letter", "SKU-1", "CX", rule(0.8)},
		{"SKU over class, whole rule", "SKU-7", "AX", Rule{Policy: PolicyRS, Target: TargetFillRate, Service: 0.99, ReviewDays: 7, Mode: ModeSuggest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.RuleFor(tt.sku, tt.class); got != tt.want {
				t.Errorf("RuleFor = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPlanningValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Planning)
		want   string // "" for valid
	}{
		{"default", func(*Planning) {}, ""},
		{"zero class and transfer settings take defaults", func(p *Planning) { p.Class, p.Transfer = ClassConfig{}, TransferConfig{} }, ""},
		{"unknown policy", func(p *Planning) { p.Global.Policy = "minmax" }, "unknown policy"},
		{"unknown target", func(p *Planning) { p.Global.Target = "" }, "unknown target"},
		{"unknown mode", func(p *Planning) { p.Global.Mode = "manual" }, "unknown mode"},
		{"service 1", func(p *Planning) { p.Global.Service = 1 }, "service"},
		{"service 0", func(p *Planning) { p.Classes["A"] = Rule{Policy: PolicySS, Target: TargetFillRate, Mode: ModeAuto} }, "class A: service"},
		{"NaN service", func(p *Planning) { p.Global.Service = math.NaN() }, "service"},
		{"RS without review", func(p *Planning) { p.Global.Policy = PolicyRS }, "review days"},
		{"negative cycle", func(p *Planning) { p.Global.CycleDays = -1 }, "cycle days"},
		{"bad class key", func(p *Planning) { p.Classes["D"] = p.Global }, `class "D"`},
		{"bad two-letter class key", func(p *Planning) { p.Classes["AA"] = p.Global }, `class "AA"`},
		{"bad SKU rule", func(p *Planning) { p.SKUs = map[event.SKU]Rule{"SKU-1": {}} }, "sku SKU-1"},
		{"negative order cost", func(p *Planning) { p.Costs.OrderCost = -1 }, "costs"},
		{"infinite holding", func(p *Planning) { p.Costs.HoldingRate = math.Inf(1) }, "costs"},
		{"negative lead prior", func(p *Planning) { p.LeadPrior.SDDays = -1 }, "lead prior"},
		{"negative transfer cost", func(p *Planning) { p.Transfer.CostPerUnit = -0.1 }, "transfer"},
		{"class shares out of order", func(p *Planning) { p.Class.A, p.Class.B = 0.9, 0.8 }, "class shares"},
		{"class share above 1", func(p *Planning) { p.Class.B = 1.5 }, "class shares"},
		{"variation bounds out of order", func(p *Planning) { p.Class.X, p.Class.Y = 2, 1 }, "class variation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPlanning()
			tt.change(&p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate: %v, want an error about %q", err, tt.want)
			}
		})
	}
}
