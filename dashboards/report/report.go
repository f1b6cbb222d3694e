// Package report renders the planners' key views to PNG charts and an
// index.html that links them, for people without Grafana: stock by
// warehouse, the forecast band of the top SKUs, projected stockouts and
// the routing cost breakdown. It runs the query API's named queries
// (api.QueryRoutes, sql/queries/api_*.sql) through a store.Store, so the
// figures are the ones the API and the dashboards show.
//
// It imports the store, the API's route table, the embedded SQL and
// gonum.org/v1/plot; it must not import pipelines or consumers.
package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/sql"
)

// Options configure a report.
type Options struct {
	// Out is the directory the PNG files and index.html are written to;
	// it is created if missing.
	Out string
	// Now anchors the time range [Now-Lookback, Now+Ahead]; zero means
	// the latest stock event in the store (simulated data has its own
	// clock), or the wall clock when there is none.
	Now time.Time
	// Lookback and Ahead default to 30 and 14 days.
	Lookback, Ahead time.Duration
	// TopSKUs is how many SKU × warehouse forecast bands to draw
	// (default 3), the ones with the most demand in the range.
	TopSKUs int
	// Width and Height of each chart; default 20 × 11 cm.
	Width, Height vg.Length
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Out == "" {
		return errors.New("report: no output directory")
	}
	if o.Lookback < 0 || o.Ahead < 0 || o.TopSKUs < 0 || o.Width < 0 || o.Height < 0 {
		return errors.New("report: negative lookback, ahead, top SKUs or size")
	}
	return nil
}

// Chart is one rendered chart.
type Chart struct {
	File        string `json:"file"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// Result is what Render wrote.
type Result struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Charts []Chart   `json:"charts"`
	Index  string    `json:"index"`
}

// Render runs the queries on st and writes the charts and index.html
// into opt.Out.
func Render(ctx context.Context, st store.Store, opt Options) (*Result, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt.Lookback = cmp.Or(opt.Lookback, 30*24*time.Hour)
	opt.Ahead = cmp.Or(opt.Ahead, 14*24*time.Hour)
	opt.TopSKUs = cmp.Or(opt.TopSKUs, 3)
	opt.Width = cmp.Or(opt.Width, 20*vg.Centimeter)
	opt.Height = cmp.Or(opt.Height, 11*vg.Centimeter)
	if err := os.MkdirAll(opt.Out, 0o750); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := &renderer{st: st, opt: opt}
	stock, err := r.run(ctx, "stock_current", time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	now := opt.Now
	if now.IsZero() {
		now = latest(stock, "last_event_ts")
	}
	if now.IsZero() {
		now = time.Now().UTC()
	}
	res := &Result{From: now.Add(-opt.Lookback), To: now.Add(opt.Ahead)}
	steps := []func(context.Context, *store.Result, *Result) ([]Chart, error){
		r.stockByWarehouse, r.forecastBands, r.stockouts, r.routingCosts,
	}
	for _, step := range steps {
		charts, err := step(ctx, stock, res)
		if err != nil {
			return nil, err
		}
		res.Charts = append(res.Charts, charts...)
	}
	res.Index = filepath.Join(opt.Out, "index.html")
	if err := writeIndex(res.Index, res); err != nil {
		return nil, err
	}
	return res, nil
}

type renderer struct {
	st  store.Store
	opt Options
}

// run executes an API route's named query with no filters over [from,
// to], the defaults the API uses for the other parameters.
func (r *renderer) run(ctx context.Context, route string, from, to time.Time) (*store.Result, error) {
	rt, ok := api.QueryRouteByName(route)
	if !ok {
		return nil, fmt.Errorf("report: no query route %s", route)
	}
	q := sql.MustQuery(rt.Query)
	var ps []store.Param
	for _, name := range store.ParamNames(q) {
		switch name {
		case "skus", "warehouses", "regions":
			ps = append(ps, store.ArrayParam(name, nil))
		case "from":
			ps = append(ps, store.TimeParam(name, from))
		case "to":
			ps = append(ps, store.TimeParam(name, to))
		case "kind", "status":
			ps = append(ps, store.StringParam(name, rt.Fixed[name]))
		case "limit":
			ps = append(ps, store.IntParam(name, 100000))
		case "lead_time_days":
			ps = append(ps, store.Param{Name: name, Value: "7"})
		case "step_seconds":
			ps = append(ps, store.IntParam(name, 86400))
		default:
			return nil, fmt.Errorf("report: query %s has parameter %s the report cannot fill", route, name)
		}
	}
	res, err := r.st.Query(ctx, q, ps...)
	if err != nil {
		return nil, fmt.Errorf("report: query %s: %w", route, err)
	}
	return res, nil
}

// table gives a result's values by column name.
type table struct {
	res *store.Result
	idx map[string]int
}

func newTable(res *store.Result) table {
	t := table{res: res, idx: map[string]int{}}
	for i, c := range res.Columns {
		t.idx[c.Name] = i
	}
	return t
}

func (t table) value(row int, col string) any {
	i, ok := t.idx[col]
	if !ok {
		return nil
	}
	return t.res.Rows[row][i]
}

func (t table) str(row int, col string) string {
	if s, ok := t.value(row, col).(string); ok {
		return s
	}
	return ""
}

// num is a numeric value; ok is false for NULL.
func (t table) num(row int, col string) (float64, bool) {
	switch v := t.value(row, col).(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

func (t table) time(row int, col string) time.Time {
	if v, ok := t.value(row, col).(time.Time); ok {
		return v
	}
	return time.Time{}
}

func latest(res *store.Result, col string) time.Time {
	t := newTable(res)
	var out time.Time
	for i := range res.Rows {
		if v := t.time(i, col); v.After(out) {
			out = v
		}
	}
	return out
}

// newPlot starts a chart with a title, axis labels and a legend on top.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

func (r *renderer) save(p *plot.Plot, empty bool, file, title, desc string) (Chart, error) {
	if empty {
		p.Title.Text += " — no data in the time range"
		desc += " (No data in the time range.)"
	}
	if err := p.Save(r.opt.Width, r.opt.Height, filepath.Join(r.opt.Out, file)); err != nil {
		return Chart{}, fmt.Errorf("report: save %s: %w", file, err)
	}
	return Chart{File: file, Title: title, Description: desc}, nil
}

// stockByWarehouse: on hand, reserved and available per warehouse.
func (r *renderer) stockByWarehouse(_ context.Context, stock *store.Result, _ *Result) ([]Chart, error) {
	t := newTable(stock)
	cols := []string{"on_hand", "reserved", "available"}
	sums := map[string][]float64{}
	for i := range stock.Rows {
		w := t.str(i, "warehouse")
		if sums[w] == nil {
			sums[w] = make([]float64, len(cols))
		}
		for j, c := range cols {
			v, _ := t.num(i, c)
			sums[w][j] += v
		}
	}
	whs := sortedKeys(sums)
	title := "Stock by warehouse"
	p := newPlot(title, "warehouse", "units")
	if len(whs) > 0 {
		w := vg.Points(min(24, 240/float64(len(whs))))
		for j, c := range cols {
			vals := make(plotter.Values, len(whs))
			for i, wh := range whs {
				vals[i] = sums[wh][j]
			}
			b, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, fmt.Errorf("report: stock chart: %w", err)
			}
			b.Color = plotutil.Color(j)
			b.LineStyle.Width = 0
			b.Offset = w * vg.Length(j-1)
			p.Add(b)
			p.Legend.Add(c, b)
		}
		p.NominalX(whs...)
	}
	c, err := r.save(p, len(whs) == 0, "stock_by_warehouse.png", title, "Units on hand, reserved for routed orders and available, summed over every SKU, per warehouse (current ledger).")
	return []Chart{c}, err
}

// series is one SKU × warehouse of forecast_vs_actual.
type series struct {
	sku, warehouse string
	demand         float64
	actual         [][2]float64
	forecast       [][2]float64
	lower, upper   [][2]float64
}

// forecastBands: actual vs forecast with the p10–p90 band for the SKU ×
// warehouses with the most demand.
func (r *renderer) forecastBands(ctx context.Context, _ *store.Result, res *Result) ([]Chart, error) {
	fc, err := r.run(ctx, "forecast_vs_actual", res.From, res.To)
	if err != nil {
		return nil, err
	}
	t := newTable(fc)
	byKey := map[[2]string]*series{}
	for i := range fc.Rows {
		k := [2]string{t.str(i, "sku"), t.str(i, "warehouse")}
		s := byKey[k]
		if s == nil {
			s = &series{sku: k[0], warehouse: k[1]}
			byKey[k] = s
		}
		x := float64(t.time(i, "time").Unix())
		add := func(dst *[][2]float64, col string) float64 {
			if v, ok := t.num(i, col); ok {
				*dst = append(*dst, [2]float64{x, v})
				return v
			}
			return 0
		}
		s.demand += add(&s.actual, "actual")
		s.demand += add(&s.forecast, "forecast")
		_, lok := t.num(i, "lower")
		_, uok := t.num(i, "upper")
		if lok && uok {
			add(&s.lower, "lower")
			add(&s.upper, "upper")
		}
	}
	all := make([]*series, 0, len(byKey))
	for _, s := range byKey {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *series) int {
		// Series with a forecast first: a band is what the chart is for.
		return cmp.Or(cmp.Compare(min(len(b.forecast), 1), min(len(a.forecast), 1)),
			cmp.Compare(b.demand, a.demand), cmp.Compare(a.sku, b.sku), cmp.Compare(a.warehouse, b.warehouse))
	})
	all = all[:min(len(all), r.opt.TopSKUs)]
	if len(all) == 0 {
		p := newPlot("Forecast vs actual", "date (UTC)", "units / day")
		c, err := r.save(p, true, "forecast.png", "Forecast vs actual", "Daily demand against the forecast and its p10–p90 band.")
		return []Chart{c}, err
	}
	var out []Chart
	for _, s := range all {
		title := fmt.Sprintf("Forecast vs actual — %s at %s", s.sku, s.warehouse)
		p := newPlot(title, "date (UTC)", "units / day")
		p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 02"}
		if len(s.lower) > 1 {
			ring := make(plotter.XYs, 0, 2*len(s.lower))
			for _, v := range s.lower {
				ring = append(ring, plotter.XY{X: v[0], Y: v[1]})
			}
			for i := len(s.upper) - 1; i >= 0; i-- {
				ring = append(ring, plotter.XY{X: s.upper[i][0], Y: s.upper[i][1]})
			}
			band, err := plotter.NewPolygon(ring)
			if err != nil {
				return nil, fmt.Errorf("report: band: %w", err)
			}
			band.Color = color.NRGBA{R: 80, G: 130, B: 220, A: 70}
			band.Width = 0
			p.Add(band)
			p.Legend.Add("p10–p90 band", band)
		}
		if len(s.forecast) > 0 {
			l, err := plotter.NewLine(xys(s.forecast))
			if err != nil {
				return nil, fmt.Errorf("report: forecast line: %w", err)
			}
			l.Color = color.RGBA{R: 30, G: 80, B: 200, A: 255}
			l.Width = vg.Points(1.5)
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			p.Add(l)
			p.Legend.Add("forecast (mean)", l)
		}
		if len(s.actual) > 0 {
			l, pts, err := plotter.NewLinePoints(xys(s.actual))
			if err != nil {
				return nil, fmt.Errorf("report: actual line: %w", err)
			}
			l.Color = color.Black
			pts.Color = color.Black
			p.Add(l, pts)
			p.Legend.Add("actual", l, pts)
		}
		file := "forecast_" + safe(s.sku) + "_" + safe(s.warehouse) + ".png"
		c, err := r.save(p, false, file, title, fmt.Sprintf("Daily demand of %s at %s: actual sales, the latest forecast's mean and its p10–p90 prediction band.", s.sku, s.warehouse))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func xys(pts [][2]float64) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, v := range pts {
		out[i] = plotter.XY{X: v[0], Y: v[1]}
	}
	return out
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safe(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// stockouts: the SKU × warehouses most likely to stock out within their
// lead time, with the projected date.
func (r *renderer) stockouts(ctx context.Context, _ *store.Result, res *Result) ([]Chart, error) {
	risk, err := r.run(ctx, "stockout_risk", res.From, res.To)
	if err != nil {
		return nil, err
	}
	t := newTable(risk)
	type row struct {
		label string
		p     float64
	}
	var rows []row
	for i := range risk.Rows {
		p, ok := t.num(i, "stockout_probability")
		if !ok {
			continue
		}
		label := t.str(i, "sku") + " @ " + t.str(i, "warehouse")
		if d := t.time(i, "projected_stockout"); !d.IsZero() {
			label += " (out " + d.Format("Jan 02") + ")"
		}
		rows = append(rows, row{label, 100 * p})
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Or(cmp.Compare(b.p, a.p), cmp.Compare(a.label, b.label)) })
	rows = rows[:min(len(rows), 15)]
	slices.Reverse(rows) // most at risk on top
	title := "Projected stockouts"
	p := newPlot(title, "probability of a stockout within the lead time (%)", "SKU @ warehouse")
	if len(rows) > 0 {
		vals := make(plotter.Values, len(rows))
		labels := make([]string, len(rows))
		for i, r := range rows {
			vals[i], labels[i] = r.p, r.label
		}
		b, err := plotter.NewBarChart(vals, vg.Points(min(14, 200/float64(len(rows)))))
		if err != nil {
			return nil, fmt.Errorf("report: stockout chart: %w", err)
		}
		b.Horizontal = true
		b.Color = color.RGBA{R: 210, G: 60, B: 50, A: 255}
		b.LineStyle.Width = 0
		p.Add(b)
		p.Legend.Add("P(demand over lead time > inventory position)", b)
		p.NominalY(labels...)
		p.X.Min, p.X.Max = 0, 100
		p.Legend.Top = false // beside the least likely, shortest bar
	}
	c, err := r.save(p, len(rows) == 0, "projected_stockouts.png", title, "The SKU × warehouses most likely to run out before a reorder placed now arrives, with the projected stockout date.")
	return []Chart{c}, err
}

// routingCosts: the routing cost breakdown per day, stacked.
func (r *renderer) routingCosts(ctx context.Context, _ *store.Result, res *Result) ([]Chart, error) {
	costs, err := r.run(ctx, "routing_costs", res.From, res.To)
	if err != nil {
		return nil, err
	}
	t := newTable(costs)
	parts := []string{"shipping_cost", "handling_cost", "split_cost", "opportunity_cost", "backorder_cost"}
	title := "Routing cost breakdown per day"
	p := newPlot(title, "day (UTC)", "cost (currency units)")
	n := len(costs.Rows)
	if n > 0 {
		days := make([]string, n)
		for i := range costs.Rows {
			days[i] = t.time(i, "time").Format("01-02")
		}
		w := vg.Points(min(20, 400/float64(n)))
		var below *plotter.BarChart
		for j, c := range parts {
			vals := make(plotter.Values, n)
			for i := range costs.Rows {
				vals[i], _ = t.num(i, c)
			}
			b, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, fmt.Errorf("report: routing chart: %w", err)
			}
			b.Color = plotutil.Color(j)
			b.LineStyle.Width = 0
			if below != nil {
				b.StackOn(below)
			}
			below = b
			p.Add(b)
			p.Legend.Add(c, b)
		}
		p.NominalX(days...)
	}
	c, err := r.save(p, n == 0, "routing_costs.png", title, "Shipping, handling, split penalty, opportunity and backorder cost of the final routing decisions per day.")
	return []Chart{c}, err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var index = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>stockflow report</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}figure{margin:2em 0}img{max-width:100%;border:1px solid #ddd}</style>
</head>
<body>
<h1>stockflow report</h1>
<p>Time range {{.From.Format "2006-01-02"}} to {{.To.Format "2006-01-02"}} (UTC). The figures are the query API's named queries, the ones the Grafana dashboards show.</p>
<ul>{{range .Charts}}<li><a href="{{.File}}">{{.Title}}</a></li>{{end}}</ul>
{{range .Charts}}<figure><img src="{{.File}}" alt="{{.Title}}"><figcaption><b>{{.Title}}</b>: {{.Description}}</figcaption></figure>
{{end}}</body>
</html>
`))

func writeIndex(path string, res *Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := index.Execute(f, res); err != nil {
		_ = f.Close()
		return fmt.Errorf("report: index.html: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: index.html: %w", err)
	}
	return nil
}

// String summarises a result in one line.
func (r *Result) String() string {
	return strconv.Itoa(len(r.Charts)) + " charts and " + r.Index
}
