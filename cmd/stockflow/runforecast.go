package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/pipelines/forecast"
)

// runTrainer trains the demand forecasts inside `stockflow run`: once the
// simulated history is in Kafka and the pipelines have processed and sunk
// it, then every interval. The schedule carries on across restarts: when
// the store already holds a completed training run (forecast_runs, from an
// earlier run or `forecast train`), the next one is due an interval after
// it finished.
//
// Training reads and writes the store the sink inserts into, and publishes
// to stockflow.forecasts.v1; it never blocks the pipelines, which keep
// running while it fits. A failed training is logged and counted, and the
// next one is tried at the next interval: it never stops run.
type runTrainer struct {
	st       store.Store
	kc       kafka.Config
	opts     trainOptions
	interval time.Duration
	// groups are the consumer groups whose processing the forecasts depend
	// on, in pipeline order (the stock pipeline, then the sink).
	groups []groupTopics
	// ready is closed when the history has been produced.
	ready <-chan struct{}
	log   *slog.Logger
	now   func() time.Time

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// done and total series of the training in progress (0, 0 when none).
	progDone, progTotal atomic.Int64

	mu       sync.Mutex
	runs     int
	failures int
	last     *trainReport
	lastErr  error
}

func newRunTrainer(st store.Store, kc kafka.Config, opts trainOptions, interval time.Duration, groups []groupTopics, ready <-chan struct{}, log *slog.Logger) *runTrainer {
	t := &runTrainer{
		st: st, kc: kc, opts: opts, interval: interval, groups: groups, ready: ready, log: log, now: time.Now,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	t.opts.onProgress = func(done, total int) {
		t.progDone.Store(int64(done))
		t.progTotal.Store(int64(total))
	}
	return t
}

// Run trains until ctx is done or Stop is called. It returns nil: training
// failures are logged and reported in Summary, not returned, so that they
// never stop the pipelines sharing run's errgroup.
func (t *runTrainer) Run(ctx context.Context) error {
	defer close(t.done)
	// The history first. Stop before it was produced (run interrupted
	// during the history) means there is nothing to train on.
	select {
	case <-t.ready:
	case <-ctx.Done():
		return nil
	case <-t.stop:
		select {
		case <-t.ready:
		default:
			return nil
		}
	}
	opts, err := t.kc.Opts()
	if err != nil {
		t.fail(err)
		return nil
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.fail(fmt.Errorf("forecast publisher: %w", err))
		return nil
	}
	defer cl.Close()

	due := t.firstDue(ctx)
	for {
		if wait := due.Sub(t.now()); wait > 0 {
			t.log.Info("next forecast training", "at", due.UTC().Format(time.RFC3339))
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-t.stop:
				timer.Stop()
				return nil
			}
		}
		// A training that is due runs to its end even when Stop comes
		// meanwhile: run waits for it (up to its shutdown timeout, after
		// which ctx ends it).
		if err := t.trainOnce(ctx, cl); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			t.fail(err)
		}
		due = t.now().Add(t.interval)
		select {
		case <-t.stop:
			return nil
		default:
		}
	}
}

// firstDue is when the first training of this process is due: now, or an
// interval after the latest completed training in the store.
func (t *runTrainer) firstDue(ctx context.Context) time.Time {
	now := t.now()
	res, err := t.st.Query(ctx, "SELECT count(), max(finished_at) FROM forecast_runs")
	if err != nil {
		t.log.Warn("cannot read the latest forecast run; training now", "err", err)
		return now
	}
	if n, err := res.Uint64(0, 0); err != nil || n == 0 {
		return now
	}
	last, err := res.Time(0, 1)
	if err != nil {
		return now
	}
	return last.Add(t.interval)
}

// trainOnce waits until the pipelines have processed and sunk what is in
// Kafka now, then trains with the last complete UTC day as the cutoff.
func (t *runTrainer) trainOnce(ctx context.Context, cl *kgo.Client) error {
	if err := t.waitCaughtUp(ctx); err != nil {
		return err
	}
	opts := t.opts
	opts.cutoff = forecast.Date(t.now()).AddDate(0, 0, -1)
	defer func() {
		t.progDone.Store(0)
		t.progTotal.Store(0)
	}()
	rep, err := trainForecasts(ctx, t.st, cl, opts, t.log)
	if err != nil {
		return fmt.Errorf("forecast training: %w", err)
	}
	t.mu.Lock()
	t.runs++
	t.last = &rep
	t.mu.Unlock()
	return nil
}

// waitCaughtUp waits until every group has committed past the end offsets
// its topics had when the group's turn came: the stock pipeline past the
// input, then the sink past what the stock pipeline wrote until then.
func (t *runTrainer) waitCaughtUp(ctx context.Context) error {
	opts, err := t.kc.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, g := range t.groups {
		ends, err := adm.ListEndOffsets(ctx, g.topics...)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			return fmt.Errorf("wait for %s: end offsets: %w", g.group, err)
		}
		for {
			lag, err := kafka.GroupLagTo(ctx, adm, g.group, ends)
			if err == nil && lag == 0 {
				break
			}
			if err != nil {
				t.log.Debug("forecast training waits for the pipelines", "group", g.group, "err", err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for %s: %w", g.group, ctx.Err())
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

func (t *runTrainer) fail(err error) {
	t.log.Warn("forecast training failed; retrying at the next interval", "err", err)
	t.mu.Lock()
	t.failures++
	t.lastErr = err
	t.mu.Unlock()
}

// Stop asks Run to start no new training and to return once the one due
// or in progress has finished. It is idempotent.
func (t *runTrainer) Stop() { t.stopOnce.Do(func() { close(t.stop) }) }

// Done is closed when Run has returned.
func (t *runTrainer) Done() <-chan struct{} { return t.done }

// Progress returns the series done and the total of the training in
// progress, or 0, 0.
func (t *runTrainer) Progress() (done, total int64) {
	return t.progDone.Load(), t.progTotal.Load()
}

// runForecastSummary is the "forecast" object of run's summary.
type runForecastSummary struct {
	// Interval is the schedule ("24h0m0s").
	Interval string `json:"interval"`
	// Runs and Failures count this process's trainings.
	Runs     int `json:"runs"`
	Failures int `json:"failures"`
	// Last is the latest completed training of this process.
	Last  *runForecastRun `json:"last"`
	Error string          `json:"error,omitempty"`
}

// runForecastRun is one training in run's summary.
type runForecastRun struct {
	RunID     string  `json:"run_id"`
	Cutoff    string  `json:"cutoff"`
	Series    int     `json:"series"`
	Skipped   int     `json:"skipped"`
	Published int     `json:"published"`
	Seconds   float64 `json:"seconds"`
}

// Summary returns what the trainer did, for run's summary.
func (t *runTrainer) Summary() *runForecastSummary {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &runForecastSummary{Interval: t.interval.String(), Runs: t.runs, Failures: t.failures}
	if t.last != nil {
		s.Last = &runForecastRun{RunID: t.last.RunID, Cutoff: t.last.Cutoff, Series: t.last.Series, Skipped: t.last.Skipped,
			Published: t.last.Published, Seconds: t.last.Seconds}
	}
	if t.lastErr != nil {
		s.Error = t.lastErr.Error()
	}
	return s
}

// stopTrainer stops t and waits for the training that is due or in
// progress, at most timeout; after that it returns an error, and the
// caller's cancellation of the trainer's context ends the training.
func stopTrainer(t *runTrainer, timeout time.Duration) error {
	if t == nil {
		return nil
	}
	t.Stop()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		return nil
	case <-timer.C:
		return errors.New("forecast training still running after the shutdown timeout; cancelled")
	}
}
