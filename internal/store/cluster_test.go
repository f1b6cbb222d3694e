package store_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/testenv"
	"github.com/stockflow/stockflow/sql"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cluster")

// goldenCluster is the cluster the golden files are written for.
var goldenCluster = store.Cluster{Name: "stockflow"}

const goldenDB = "stockflow"

// TestClusterGolden rewrites every migration of package sql for a cluster
// and compares the result with testdata/cluster/<file>. After a change to
// a migration or to the rewrite, review the diff of
// go test ./internal/store -run TestClusterGolden -update.
func TestClusterGolden(t *testing.T) {
	migs, err := store.ClusterMigrations(sql.Migrations(), goldenCluster, goldenDB)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "cluster")
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range migs {
		t.Run(m.File, func(t *testing.T) {
			got := renderMigration(m)
			path := filepath.Join(dir, m.File)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/store -run TestClusterGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("cluster form of %s differs from %s (run with -update and review the diff):\n%s", m.File, path, got)
			}
		})
	}
	// No stale golden file for a migration that no longer exists.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.ContainsFunc(migs, func(m store.Migration) bool { return m.File == e.Name() }) {
			t.Errorf("stale golden file %s", filepath.Join(dir, e.Name()))
		}
	}
}

func renderMigration(m store.Migration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s for cluster %q, database %s: generated from sql/migrations/%s\n-- by store.Rewriter (internal/store/cluster.go); do not edit.\n", m.File, goldenCluster.Name, goldenDB, m.File)
	for _, st := range m.Statements {
		b.WriteString("\n" + st + ";\n")
	}
	return b.String()
}

// TestClusterParsesInEngine has the ClickHouse engine itself (the embedded
// chDB, which has no Keeper and no remote_servers to run them) parse and
// format every rewritten statement, and checks the cluster invariants on
// its formatted text rather than on the rewrite's own output: every object
// ON CLUSTER, every MergeTree replicated under a {shard}/{replica} path
// with both replicated deduplication windows, every table a _local table
// with a Distributed table of the same name over it, and every view
// reading and writing local tables.
func TestClusterParsesInEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, _, closeEngine, err := testenv.Engine(ctx)
	if err != nil {
		t.Fatalf("embedded ClickHouse engine (chDB): %v", err)
	}
	defer closeEngine()

	migs, err := store.ClusterMigrations(sql.Migrations(), goldenCluster, goldenDB)
	if err != nil {
		t.Fatal(err)
	}
	var (
		replicated  = regexp.MustCompile("(?s)^CREATE TABLE IF NOT EXISTS stockflow\\.(\\w+)_local ON CLUSTER stockflow\n.*\nENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/\\{database\\}/(\\w+)', '\\{replica\\}'.*\nSETTINGS (.*)$")
		distributed = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS stockflow\.(\w+) ON CLUSTER stockflow AS stockflow\.(\w+)\nENGINE = Distributed\('stockflow', 'stockflow', '(\w+)', (.+)\)$`)
		view        = regexp.MustCompile(`(?s)^CREATE MATERIALIZED VIEW IF NOT EXISTS stockflow\.\w+ ON CLUSTER stockflow TO stockflow\.(\w+)\n.*FROM (\w+)\.(\w+)`)
		// An ALTER runs on the local table and on its Distributed table,
		// both created before it.
		alter        = regexp.MustCompile(`^ALTER TABLE stockflow\.(\w+) ON CLUSTER stockflow\n`)
		locals, dist = map[string]bool{}, map[string]bool{}
	)
	statements := 0
	for _, m := range migs {
		for i, st := range m.Statements {
			statements++
			res, err := eng.Query(ctx, "SELECT formatQuery({q:String})", store.StringParam("q", st))
			if err != nil {
				t.Errorf("%s statement %d does not parse: %v\n%s", m.File, i+1, err, st)
				continue
			}
			f, err := res.String(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case replicated.MatchString(f):
				g := replicated.FindStringSubmatch(f)
				if g[2] != g[1]+"_local" {
					t.Errorf("%s: %s_local replicated under the Keeper path of %s", m.File, g[1], g[2])
				}
				for _, want := range []string{"replicated_deduplication_window = 100000", "replicated_deduplication_window_seconds = 604800"} {
					if !strings.Contains(g[3], want) {
						t.Errorf("%s: %s_local: settings %q lack %s", m.File, g[1], g[3], want)
					}
				}
				if strings.Contains(g[3], "non_replicated") {
					t.Errorf("%s: %s_local keeps a non-replicated setting: %s", m.File, g[1], g[3])
				}
				locals[g[1]] = true
			case distributed.MatchString(f):
				g := distributed.FindStringSubmatch(f)
				if g[2] != g[1]+"_local" || g[3] != g[1]+"_local" || !locals[g[1]] {
					t.Errorf("%s: Distributed table %s is not over its own local table, created before it:\n%s", m.File, g[1], f)
				}
				if !strings.HasPrefix(g[4], "cityHash64(") {
					t.Errorf("%s: %s sharded by %s, want a cityHash64 of key columns", m.File, g[1], g[4])
				}
				dist[g[1]] = true
			case view.MatchString(f):
				g := view.FindStringSubmatch(f)
				if !strings.HasSuffix(g[1], "_local") || g[2] != "stockflow" || !strings.HasSuffix(g[3], "_local") {
					t.Errorf("%s: materialized view not between local tables:\n%s", m.File, f)
				}
			case alter.MatchString(f):
				g := alter.FindStringSubmatch(f)
				if base, ok := strings.CutSuffix(g[1], "_local"); ok && !locals[base] || !ok && !dist[g[1]] {
					t.Errorf("%s: ALTER of %s, which is neither a local nor a Distributed table created before:\n%s", m.File, g[1], f)
				}
			default:
				t.Errorf("%s statement %d is none of the cluster forms:\n%s", m.File, i+1, f)
			}
		}
	}
	if statements == 0 || len(locals) == 0 {
		t.Fatal("no statements rewritten")
	}
	for l := range locals {
		if !dist[l] {
			t.Errorf("local table %s_local has no Distributed table", l)
		}
	}
	t.Logf("%d statements parsed by the engine, %d replicated tables", statements, len(locals))
}

func TestClusterRewrite(t *testing.T) {
	base := "CREATE TABLE IF NOT EXISTS t\n(\n    sku String,\n    v UInt64\n)\nENGINE = ReplacingMergeTree(v)\nORDER BY (sku, v)\nSETTINGS index_granularity = 1024, non_replicated_deduplication_window = 1000"
	tests := []struct {
		name    string
		cluster store.Cluster
		prior   []string // statements rewritten before
		in      string
		want    []string
		wantErr string
	}{
		{
			name:    "table keeps engine arguments and other settings",
			cluster: store.Cluster{Name: "c1", DedupWindow: 500, DedupWindowSeconds: 60, ZooKeeperPath: "/ch/t"},
			in:      base,
			want: []string{
				"CREATE TABLE IF NOT EXISTS `db`.`t_local` ON CLUSTER 'c1'\n(\n    sku String,\n    v UInt64\n)\nENGINE = ReplicatedReplacingMergeTree('/ch/t/{shard}/{database}/t_local', '{replica}', v)\nORDER BY (sku, v)\nSETTINGS index_granularity = 1024, replicated_deduplication_window = 500, replicated_deduplication_window_seconds = 60",
				"CREATE TABLE IF NOT EXISTS `db`.`t` ON CLUSTER 'c1' AS `db`.`t_local`\nENGINE = Distributed('c1', 'db', 't_local', cityHash64(sku))",
			},
		},
		{
			name:    "table without settings, sharding key override",
			cluster: store.Cluster{Name: "c1", ShardingKeys: map[string]string{"u": "id"}},
			in:      "CREATE TABLE u (id UInt64) ENGINE = MergeTree ORDER BY id",
			want: []string{
				"CREATE TABLE `db`.`u_local` ON CLUSTER 'c1' (id UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/u_local', '{replica}') ORDER BY id\nSETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800",
				"CREATE TABLE IF NOT EXISTS `db`.`u` ON CLUSTER 'c1' AS `db`.`u_local`\nENGINE = Distributed('c1', 'db', 'u_local', id)",
			},
		},
		{
			name:  "view between local tables",
			prior: []string{base, "CREATE TABLE d (sku String, n UInt64) ENGINE = SummingMergeTree ORDER BY sku"},
			in:    "CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO d AS\nSELECT sku, count() AS n FROM t GROUP BY sku",
			want:  []string{"CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.`mv` ON CLUSTER 'c1' TO `db`.`d_local` AS\nSELECT sku, count() AS n FROM `db`.`t_local` GROUP BY sku"},
		},
		{
			name:  "add column: local and distributed",
			prior: []string{base},
			in:    "ALTER TABLE t ADD COLUMN IF NOT EXISTS w Int64, MODIFY COLUMN v UInt32",
			want: []string{
				"ALTER TABLE `db`.`t_local` ON CLUSTER 'c1' ADD COLUMN IF NOT EXISTS w Int64, MODIFY COLUMN v UInt32",
				"ALTER TABLE `db`.`t` ON CLUSTER 'c1' ADD COLUMN IF NOT EXISTS w Int64, MODIFY COLUMN v UInt32",
			},
		},
		{
			name:  "table setting: local only",
			prior: []string{base},
			in:    "ALTER TABLE t MODIFY SETTING index_granularity = 2048",
			want:  []string{"ALTER TABLE `db`.`t_local` ON CLUSTER 'c1' MODIFY SETTING index_granularity = 2048"},
		},
		{
			name:  "drop table: both",
			prior: []string{base},
			in:    "DROP TABLE IF EXISTS t",
			want: []string{
				"DROP TABLE IF EXISTS `db`.`t` ON CLUSTER 'c1' SYNC",
				"DROP TABLE IF EXISTS `db`.`t_local` ON CLUSTER 'c1' SYNC",
			},
		},
		{name: "not a MergeTree", in: "CREATE TABLE m (sku String) ENGINE = Memory", wantErr: "not of the MergeTree family"},
		{name: "no sharding key", in: "CREATE TABLE k (id String) ENGINE = MergeTree ORDER BY id", wantErr: "has no sharding key"},
		{
			name:    "key outside the sorting key",
			cluster: store.Cluster{Name: "c1", ShardingKeys: map[string]string{"k": "cityHash64(other)"}},
			in:      "CREATE TABLE k (id String, other String) ENGINE = ReplacingMergeTree ORDER BY id",
			wantErr: "uses other, which is not in the sorting key",
		},
		{
			name:    "view across different sharding keys",
			cluster: store.Cluster{Name: "c1", ShardingKeys: map[string]string{"byid": "cityHash64(id)"}},
			prior:   []string{base, "CREATE TABLE byid (id String) ENGINE = MergeTree ORDER BY id"},
			in:      "CREATE MATERIALIZED VIEW mv TO byid AS SELECT sku AS id FROM t",
			wantErr: "would put rows on the wrong shard",
		},
		{name: "view without TO", prior: []string{base}, in: "CREATE MATERIALIZED VIEW mv ENGINE = MergeTree ORDER BY sku AS SELECT sku FROM t", wantErr: "only materialized views with TO"},
		{name: "view onto an unknown table", in: "CREATE MATERIALIZED VIEW mv TO nowhere AS SELECT 1 FROM t", wantErr: "is not a table of the migrations"},
		{name: "qualified name", in: "CREATE TABLE other.t (sku String) ENGINE = MergeTree ORDER BY sku", wantErr: "database-qualified"},
		{name: "already on cluster", in: "CREATE TABLE t ON CLUSTER c (sku String) ENGINE = MergeTree ORDER BY sku", wantErr: "already ON CLUSTER"},
		{name: "insert", in: "INSERT INTO t VALUES ('a', 1)", wantErr: "not supported in cluster mode"},
		{name: "unbalanced", in: "CREATE TABLE t (sku String ENGINE = MergeTree", wantErr: "unbalanced"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cluster
			if c.Name == "" {
				c.Name = "c1"
			}
			rw, err := store.NewRewriter(c, "db")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.prior {
				if _, err := rw.Statement(p); err != nil {
					t.Fatalf("prior statement: %v", err)
				}
			}
			got, err := rw.Statement(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, store.ErrClusterUnsupported) {
					t.Fatalf("error %v, want ErrClusterUnsupported containing %q (got %q)", err, tc.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n;;\n"), strings.Join(tc.want, "\n;;\n"))
			}
		})
	}
}

func TestClusterValidate(t *testing.T) {
	tests := []struct {
		name    string
		c       store.Cluster
		wantErr string
	}{
		{name: "single server", c: store.Cluster{}},
		{name: "named", c: store.Cluster{Name: "prod-eu.1", ShardingKeys: map[string]string{"sales": "cityHash64(sku, warehouse)"}}},
		{name: "settings without a name", c: store.Cluster{DedupWindow: 10}, wantErr: "without a cluster name"},
		{name: "quote in name", c: store.Cluster{Name: "a'b"}, wantErr: "not allowed"},
		{name: "relative keeper path", c: store.Cluster{Name: "c", ZooKeeperPath: "clickhouse"}, wantErr: "zookeeper_path"},
		{name: "two key expressions", c: store.Cluster{Name: "c", ShardingKeys: map[string]string{"sales": "sku, warehouse"}}, wantErr: "not one expression"},
		{name: "injected statement", c: store.Cluster{Name: "c", ShardingKeys: map[string]string{"sales": "sku); DROP TABLE x; --"}}, wantErr: "not one expression"},
		{name: "bad table", c: store.Cluster{Name: "c", ShardingKeys: map[string]string{"a-b": "sku"}}, wantErr: "sharding key table"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
