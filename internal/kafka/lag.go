package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// GroupLag returns how many records of topics group has not committed past:
// over every partition, the end offset minus the group's committed offset,
// or minus the log start where the group has committed nothing (a group
// that has not started yet lags by everything). Unlike a group's own lag,
// partitions it was never assigned count too.
func GroupLag(ctx context.Context, adm *kadm.Client, group string, topics ...string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("group %s lag: end offsets: %w", group, err)
	}
	return GroupLagTo(ctx, adm, group, ends)
}

// GroupLagTo is GroupLag against fixed targets instead of the current end
// offsets: how many records before targets (end offsets listed earlier,
// say) group has not committed past. Records produced after the targets
// were listed do not count, so a caller can wait for a group to process
// what was in a topic at one moment while producers keep writing.
func GroupLagTo(ctx context.Context, adm *kadm.Client, group string, targets kadm.ListedOffsets) (int64, error) {
	committed, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return 0, fmt.Errorf("group %s committed offsets: %w", group, err)
	}
	topics := make([]string, 0, len(targets))
	for t := range targets {
		topics = append(topics, t)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("group %s lag: start offsets: %w", group, err)
	}
	var total int64
	targets.Each(func(end kadm.ListedOffset) {
		var from int64
		if s, ok := starts.Lookup(end.Topic, end.Partition); ok {
			from = s.Offset
		}
		if c, ok := committed.Lookup(end.Topic, end.Partition); ok && c.Err == nil && c.At > from {
			from = c.At
		}
		total += max(end.Offset-from, 0)
	})
	return total, nil
}
