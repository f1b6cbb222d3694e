package stock

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus instruments.
type Metrics struct {
	In          *prometheus.CounterVec // by topic
	Accepted    *prometheus.CounterVec // by event type
	DLQ         *prometheus.CounterVec // by reason
	Commits     prometheus.Counter
	Aborts      prometheus.Counter
	Restores    prometheus.Counter
	Keys        prometheus.Gauge
	BatchSize   prometheus.Histogram
	Windows     *prometheus.CounterVec // by size and kind
	LateEvents  *prometheus.CounterVec // by size
	IdleFlushes prometheus.Counter
}

// NewMetrics creates the instruments and registers them with reg (which may
// be nil for none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		In: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_stock_records_in_total", Help: "Input records consumed, by topic.",
		}, []string{"topic"}),
		Accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_stock_events_accepted_total", Help: "Events accepted into the ledger and the accepted topic, by type.",
		}, []string{"type"}),
		DLQ: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_dlq_records_total", Help: "Records dead-lettered, by reason.",
		}, []string{"reason"}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockflow_stock_transactions_committed_total", Help: "Kafka transactions committed.",
		}),
		Aborts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockflow_stock_transactions_aborted_total", Help: "Kafka transactions aborted (state rolled back).",
		}),
		Restores: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockflow_stock_partition_restores_total", Help: "Partitions restored from the changelog.",
		}),
		Keys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stockflow_stock_ledger_keys", Help: "(SKU, warehouse) ledgers held by this instance.",
		}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "stockflow_stock_batch_records", Help: "Records per transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		Windows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_stock_window_results_total", Help: "Window results emitted to stockflow.windows.v1, by size and kind (final, correction).",
		}, []string{"size", "kind"}),
		LateEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_stock_window_late_events_total", Help: "Sales that arrived after their window closed (beyond grace): applied to the ledger and emitted as corrections, by window size.",
		}, []string{"size"}),
		IdleFlushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockflow_stock_idle_flushes_total", Help: "Transactions that closed windows on the wall clock because partitions were idle.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.In, m.Accepted, m.DLQ, m.Commits, m.Aborts, m.Restores, m.Keys, m.BatchSize,
			m.Windows, m.LateEvents, m.IdleFlushes)
	}
	return m
}
