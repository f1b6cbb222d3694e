package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// pipelineHealth answers "is data flowing, how late is it, and what is
// being rejected?".
func pipelineHealth() *board {
	health := Query{QueryType: "pipeline_health"}
	dlq := Query{QueryType: "dlq"}
	return newDashboard("stockflow-pipeline", "stockflow / Pipeline health",
		"Ingestion lag and freshness per table, rows ingested over time, and dead-lettered records by reason.").
		Time("now-24h", "now").
		WithPanel(kpi("Worst p95 lag", "Largest 95th-percentile ingestion lag (ingested_at − event time) over the tables", health, "lag_p95_seconds", "max", "s", [4]uint32{0, 0, 8, 4}).
			Thresholds(steps("green", 60.0, "orange", 300.0, "red"))).
		WithPanel(kpi("Stalest table", "Seconds since the last row was ingested, for the stalest table", health, "freshness_seconds", "max", "s", [4]uint32{8, 0, 8, 4}).
			Thresholds(steps("green", 300.0, "orange", 3600.0, "red"))).
		WithPanel(kpi("Dead-lettered", "Records in the DLQ in the time range", dlq, "records", "sum", "short", [4]uint32{16, 0, 8, 4}).
			Thresholds(steps("green", 1.0, "orange", 100.0, "red"))).
		WithPanel(trend("Rows ingested", "Rows written per table and 5-minute bucket (throughput)", Query{QueryType: "pipeline_throughput", StepSeconds: 300}, "short", [4]uint32{0, 4, 24, 9}).
			AxisLabel("rows / 5 min")).
		WithPanel(list("Ingestion lag and freshness per table", "Rows in the time range, ingestion lag p50/p95 and seconds since the last ingestion, per table",
			health, [4]uint32{0, 13, 12, 9}).
			OverrideByName("lag_p50_seconds", []dashboard.DynamicConfigValue{prop("unit", "s")}).
			OverrideByName("lag_p95_seconds", []dashboard.DynamicConfigValue{
				prop("unit", "s"), prop("thresholds", thresholdsProp("green", 60, "orange", 300, "red")), prop("custom.cellOptions", cellBackground),
			}).
			OverrideByName("freshness_seconds", []dashboard.DynamicConfigValue{prop("unit", "s")})).
		WithPanel(bars("DLQ by reason", "Dead-lettered records per reason in the time range", dlq, "reason", []string{"records"}, "short", [4]uint32{12, 13, 12, 9}).
			AxisLabel("records")).
		WithPanel(list("DLQ by reason, topic and event type", "Dead-lettered records with the first and last time each reason was seen", dlq, [4]uint32{0, 22, 24, 8}))
}
