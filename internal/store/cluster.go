package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Cluster selects the schema for a sharded, replicated ClickHouse cluster.
// The migrations stay the single source (package sql); Rewrite turns each
// statement into its cluster form:
//
//   - CREATE TABLE t … ENGINE = XMergeTree becomes the shard-local table
//     t_local, ON CLUSTER, with ReplicatedXMergeTree at
//     <ZooKeeperPath>/{shard}/{database}/t_local and replica {replica}, plus
//     t itself as a Distributed table over t_local with the table's sharding
//     key. Readers and the sink keep using the plain names.
//   - non_replicated_deduplication_window gives way to
//     replicated_deduplication_window and
//     replicated_deduplication_window_seconds (see DedupWindow).
//   - CREATE MATERIALIZED VIEW v TO t AS SELECT … FROM s becomes a view on
//     every node from s_local into t_local: each shard aggregates its own
//     rows, which is right only when s and t have the same sharding key, and
//     Rewrite refuses views where they differ.
//   - ALTER TABLE and DROP statements run ON CLUSTER against both tables.
//
// Anything else is refused (ErrClusterUnsupported), so a migration the
// rewrite does not understand fails its golden test rather than creating a
// table that is neither replicated nor sharded.
type Cluster struct {
	// Name is the cluster's name in the servers' remote_servers; empty
	// means a single server (no rewrite).
	Name string `json:"name"`
	// ShardingKeys overrides DefaultShardingKeys, by table.
	ShardingKeys map[string]string `json:"sharding_keys,omitempty"`
	// DedupWindow is replicated_deduplication_window: how many recent
	// blocks of each table (per shard) Keeper remembers for insert
	// deduplication. Default DefaultDedupWindow.
	DedupWindow uint64 `json:"dedup_window,omitempty"`
	// DedupWindowSeconds is replicated_deduplication_window_seconds: how
	// long, counted back from the newest block, a block is remembered.
	// Default DefaultDedupWindowSeconds.
	DedupWindowSeconds uint64 `json:"dedup_window_seconds,omitempty"`
	// ZooKeeperPath is the Keeper prefix of the replicated tables; default
	// "/clickhouse/tables".
	ZooKeeperPath string `json:"zookeeper_path,omitempty"`
}

// Deduplication windows of the replicated tables. A sink replay repeats,
// with the same insert_deduplication_token, the inserts of at most one
// batch per source partition: the batch whose intent a stopped member left
// in the group's commits (consumers/chsink). It is dropped only if its
// blocks are still in the window when it comes back, so the window must
// cover every block the table received between the original insert and
// the replay:
//
//	blocks = inserts/s into the table × span × months per insert
//
// span is how long the partition stays without an owner that replays it:
// the group's session timeout (45 s, franz-go's default) plus a rebalance
// and the pipelines' restore, about a minute; a member that crash-loops
// can stretch it, which is why the margin is wide. The rate is bounded by
// the sink's rounds: every round inserts into a table once per source
// partition it holds (a round waits for its inserts). Measured here
// (deploy/README.md, "ClickHouse cluster"): about 9 inserts per second
// into sales, across 6 partitions, at 200 events/s, with the embedded
// engine, whose inserts are faster than a cluster's foreground
// Distributed inserts. 100,000 blocks cover that rate for 3 hours of span,
// and 10 times it for 18 minutes. The time window is 7 days, the same as the
// event-id deduplication window of DESIGN.md §6; it counts from the newest
// block, not the wall clock, so an idle table forgets nothing.
//
// Raw tables would survive a replay beyond the window anyway: their
// ReplacingMergeTree keys end in the record's source coordinates, so FINAL
// collapses it. What depends on the window is the rollup a materialized
// view feeds (sales_daily): a block deduplicated in sales_local is dropped
// in sales_daily_local too (deduplicate_blocks_in_dependent_materialized_views),
// one that is not is summed twice.
const (
	DefaultDedupWindow        = 100_000
	DefaultDedupWindowSeconds = 7 * 24 * 3600
)

// DefaultShardingKeys are the sharding keys of stockflow's tables. A SKU's
// rows (events, levels, windows, forecasts, reorders, assignments) live on
// one shard, so the per-SKU reads of the planners and the forecaster touch
// one shard each, FINAL collapses a replay (its copies share the SKU), and
// sales_daily_mv aggregates where the sales are. Tables without a SKU are
// sharded by their own id. A table missing here that has a sku column is
// sharded by cityHash64(sku); any other is refused until it gets a key.
var DefaultShardingKeys = map[string]string{
	"sales":               "cityHash64(sku)",
	"stock_movements":     "cityHash64(sku)",
	"stock_levels":        "cityHash64(sku)",
	"demand_windows":      "cityHash64(sku)",
	"sales_daily":         "cityHash64(sku)",
	"forecasts":           "cityHash64(sku)",
	"forecast_accuracy":   "cityHash64(sku)",
	"reorders":            "cityHash64(sku)",
	"routing_assignments": "cityHash64(sku)",
	"orders":              "cityHash64(order_id)",
	"routing_decisions":   "cityHash64(order_id)",
	"campaigns":           "cityHash64(campaign_id)",
	"forecast_runs":       "cityHash64(run_id)",
	"warehouses":          "cityHash64(id)",
	"dlq":                 "cityHash64(src_topic, src_partition, src_offset)",
}

// LocalSuffix names the shard-local table behind each Distributed table.
const LocalSuffix = "_local"

// ErrClusterUnsupported is wrapped by Rewrite's errors for a statement it
// cannot turn into its cluster form.
var ErrClusterUnsupported = errors.New("statement not supported in cluster mode")

// Enabled reports whether c selects cluster mode.
func (c Cluster) Enabled() bool { return c.Name != "" }

// Validate reports the first problem with c. The zero Cluster is valid
// (single server).
func (c Cluster) Validate() error {
	if !c.Enabled() {
		if len(c.ShardingKeys) > 0 || c.DedupWindow != 0 || c.DedupWindowSeconds != 0 || c.ZooKeeperPath != "" {
			return errors.New("clickhouse cluster: settings given without a cluster name")
		}
		return nil
	}
	for i := 0; i < len(c.Name); i++ {
		if b := c.Name[i]; !isWordByte(b) && b != '-' && b != '.' {
			return fmt.Errorf("clickhouse cluster: name %q: character %q not allowed", c.Name, b)
		}
	}
	if p := c.ZooKeeperPath; p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, `'\{} `)) {
		return fmt.Errorf("clickhouse cluster: zookeeper_path %q: want an absolute path like /clickhouse/tables, without quotes, braces or a trailing slash", p)
	}
	for _, t := range slices.Sorted(maps.Keys(c.ShardingKeys)) {
		if err := ValidIdent(t); err != nil {
			return fmt.Errorf("clickhouse cluster: sharding key table: %w", err)
		}
		toks, ok := tokenize(c.ShardingKeys[t])
		if !ok || len(toks) == 0 || slices.ContainsFunc(toks, func(k token) bool { return k.text == ";" || k.text == "," && k.depth == 0 }) {
			return fmt.Errorf("clickhouse cluster: sharding key of %s: %q is not one expression", t, c.ShardingKeys[t])
		}
	}
	return nil
}

func (c Cluster) dedupWindow() uint64 {
	if c.DedupWindow == 0 {
		return DefaultDedupWindow
	}
	return c.DedupWindow
}

func (c Cluster) dedupWindowSeconds() uint64 {
	if c.DedupWindowSeconds == 0 {
		return DefaultDedupWindowSeconds
	}
	return c.DedupWindowSeconds
}

func (c Cluster) zkPath() string {
	if c.ZooKeeperPath == "" {
		return "/clickhouse/tables"
	}
	return c.ZooKeeperPath
}

func (c Cluster) onCluster() string { return " ON CLUSTER " + QuoteString(c.Name) }

// shardingKey returns the key of table, whose columns are cols.
func (c Cluster) shardingKey(table string, cols []string) (string, error) {
	if k, ok := c.ShardingKeys[table]; ok {
		return k, nil
	}
	if k, ok := DefaultShardingKeys[table]; ok {
		return k, nil
	}
	if slices.Contains(cols, "sku") {
		return "cityHash64(sku)", nil
	}
	return "", fmt.Errorf("table %s has no sharding key: add it to store.DefaultShardingKeys (or the cluster's sharding_keys): %w", table, ErrClusterUnsupported)
}

// Rewriter turns migrations into their cluster form, one after another: it
// remembers the tables created so far (their sharding keys), which the
// views and ALTERs of later statements refer to.
type Rewriter struct {
	c      Cluster
	db     string
	tables map[string]string // table → sharding key, for the tables created so far
	views  map[string]bool
}

// NewRewriter returns a Rewriter for database db on cluster c.
func NewRewriter(c Cluster, db string) (*Rewriter, error) {
	if !c.Enabled() {
		return nil, errors.New("clickhouse cluster: no cluster name")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := ValidIdent(db); err != nil {
		return nil, fmt.Errorf("clickhouse cluster: database: %w", err)
	}
	return &Rewriter{c: c, db: db, tables: map[string]string{}, views: map[string]bool{}}, nil
}

// Migration returns m with its statements rewritten; Version, Name, File
// and Checksum stay those of the source file, which is what
// schema_migrations records in both modes.
func (r *Rewriter) Migration(m Migration) (Migration, error) {
	out := m
	out.Statements = nil
	for i, st := range m.Statements {
		sts, err := r.Statement(st)
		if err != nil {
			return Migration{}, &MigrationError{File: m.File, Version: m.Version, Err: fmt.Errorf("statement %d: %w", i+1, err)}
		}
		out.Statements = append(out.Statements, sts...)
	}
	return out, nil
}

// Statement rewrites one statement into one or more.
func (r *Rewriter) Statement(st string) ([]string, error) {
	toks, ok := tokenize(st)
	if !ok {
		return nil, fmt.Errorf("unbalanced parentheses or quotes: %w", ErrClusterUnsupported)
	}
	switch {
	case len(toks) >= 2 && toks[0].is("CREATE") && toks[1].is("TABLE"):
		return r.createTable(st, toks)
	case len(toks) >= 3 && toks[0].is("CREATE") && toks[1].is("MATERIALIZED") && toks[2].is("VIEW"):
		return r.createView(st, toks)
	case len(toks) >= 2 && toks[0].is("ALTER") && toks[1].is("TABLE"):
		return r.alterTable(st, toks)
	case len(toks) >= 2 && toks[0].is("DROP") && (toks[1].is("TABLE") || toks[1].is("VIEW")):
		return r.drop(st, toks)
	}
	return nil, fmt.Errorf("%.40q: %w", strings.Join(strings.Fields(st), " "), ErrClusterUnsupported)
}

// qualified is db.name, quoted.
func (r *Rewriter) qualified(name string) string { return QuoteIdent(r.db) + "." + QuoteIdent(name) }

// objectName reads "[IF NOT EXISTS | IF EXISTS] name" at toks[i:], and
// returns the name and the index after it.
func objectName(toks []token, i int) (name string, next int, err error) {
	switch {
	case i+2 < len(toks) && toks[i].is("IF") && toks[i+1].is("NOT") && toks[i+2].is("EXISTS"):
		i += 3
	case i+1 < len(toks) && toks[i].is("IF") && toks[i+1].is("EXISTS"):
		i += 2
	}
	if i >= len(toks) || toks[i].kind != tokWord {
		return "", 0, fmt.Errorf("no object name: %w", ErrClusterUnsupported)
	}
	if i+1 < len(toks) && toks[i+1].text == "." {
		return "", 0, fmt.Errorf("%s.…: a database-qualified name: %w", toks[i].ident(), ErrClusterUnsupported)
	}
	if toks[i].is("ON") {
		return "", 0, fmt.Errorf("already ON CLUSTER: %w", ErrClusterUnsupported)
	}
	name = toks[i].ident()
	if err := ValidIdent(name); err != nil {
		return "", 0, fmt.Errorf("object name: %w", err)
	}
	if i+1 < len(toks) && toks[i+1].is("ON") {
		return "", 0, fmt.Errorf("%s is already ON CLUSTER: %w", name, ErrClusterUnsupported)
	}
	return name, i + 1, nil
}

// mergeTreeEngines are the engines Rewrite replicates.
var mergeTreeEngines = []string{
	"MergeTree", "ReplacingMergeTree", "SummingMergeTree", "AggregatingMergeTree",
	"CollapsingMergeTree", "VersionedCollapsingMergeTree", "CoalescingMergeTree",
}

// tableClauses end an ORDER BY expression.
var tableClauses = []string{"PARTITION", "PRIMARY", "SAMPLE", "TTL", "SETTINGS", "COMMENT"}

func (r *Rewriter) createTable(st string, toks []token) ([]string, error) {
	name, i, err := objectName(toks, 2)
	if err != nil {
		return nil, err
	}
	if i >= len(toks) || toks[i].text != "(" {
		return nil, fmt.Errorf("table %s: only CREATE TABLE with a column list: %w", name, ErrClusterUnsupported)
	}
	colsEnd := closing(toks, i)
	cols := columnNames(toks[i+1 : colsEnd])
	eng := findWord(toks, colsEnd, 0, "ENGINE")
	if eng < 0 || eng+2 >= len(toks) || toks[eng+1].text != "=" {
		return nil, fmt.Errorf("table %s: no ENGINE: %w", name, ErrClusterUnsupported)
	}
	engTok := toks[eng+2]
	if !slices.Contains(mergeTreeEngines, engTok.text) {
		return nil, fmt.Errorf("table %s: engine %s is not of the MergeTree family: %w", name, engTok.text, ErrClusterUnsupported)
	}
	engEnd, args := eng+3, ""
	if engEnd < len(toks) && toks[engEnd].text == "(" {
		cl := closing(toks, engEnd)
		args = strings.TrimSpace(st[toks[engEnd].end:toks[cl].start])
		engEnd = cl + 1
	}
	key, err := r.c.shardingKey(name, cols)
	if err != nil {
		return nil, err
	}
	if err := keyInOrderBy(name, key, toks, engEnd, engTok.text); err != nil {
		return nil, err
	}

	local := name + LocalSuffix
	replArgs := QuoteString(r.c.zkPath()+"/{shard}/{database}/"+local) + ", '{replica}'"
	if args != "" {
		replArgs += ", " + args
	}
	var b strings.Builder
	b.WriteString(st[:toks[i-1].start])
	b.WriteString(r.qualified(local) + r.c.onCluster())
	b.WriteString(st[toks[i-1].end:engTok.start])
	b.WriteString("Replicated" + engTok.text + "(" + replArgs + ")")
	settings := findWord(toks, engEnd, 0, "SETTINGS")
	tail := len(st)
	if settings >= 0 {
		tail = toks[settings].start
	}
	b.WriteString(strings.TrimRight(st[toks[engEnd-1].end:tail], " \t\n"))
	b.WriteString("\nSETTINGS " + strings.Join(r.settings(st, toks, settings), ", "))

	r.tables[name] = key
	dist := "CREATE TABLE IF NOT EXISTS " + r.qualified(name) + r.c.onCluster() +
		" AS " + r.qualified(local) +
		"\nENGINE = Distributed(" + QuoteString(r.c.Name) + ", " + QuoteString(r.db) + ", " + QuoteString(local) + ", " + key + ")"
	return []string{b.String(), dist}, nil
}

// settings returns the table's SETTINGS (starting at toks[at], or none
// when at < 0) for the replicated table: the non-replicated deduplication
// window dropped, the replicated windows set.
func (r *Rewriter) settings(st string, toks []token, at int) []string {
	var out []string
	if at >= 0 {
		start := at + 1
		for j := start; j <= len(toks); j++ {
			if j < len(toks) && (toks[j].text != "," || toks[j].depth != 0) {
				continue
			}
			if start < j {
				item := strings.TrimSpace(st[toks[start].start:toks[j-1].end])
				switch strings.ToLower(toks[start].text) {
				case "non_replicated_deduplication_window", "replicated_deduplication_window", "replicated_deduplication_window_seconds":
				default:
					out = append(out, item)
				}
			}
			start = j + 1
		}
	}
	return append(out,
		"replicated_deduplication_window = "+strconv.FormatUint(r.c.dedupWindow(), 10),
		"replicated_deduplication_window_seconds = "+strconv.FormatUint(r.c.dedupWindowSeconds(), 10))
}

// keyInOrderBy checks that every column of the sharding key is in the
// sorting key: rows that a ReplacingMergeTree (or Summing…, Aggregating…)
// must collapse then land on one shard, where merges and FINAL see them
// together.
func keyInOrderBy(table, key string, toks []token, from int, engine string) error {
	ob := findWord(toks, from, 0, "ORDER")
	if ob < 0 || ob+1 >= len(toks) || !toks[ob+1].is("BY") {
		return fmt.Errorf("table %s: no ORDER BY: %w", table, ErrClusterUnsupported)
	}
	end := ob + 2
	for end < len(toks) && (toks[end].depth != 0 || !slices.ContainsFunc(tableClauses, toks[end].is)) {
		end++
	}
	sorting := exprIdents(toks[ob+2 : end])
	keyToks, _ := tokenize(key)
	for _, col := range exprIdents(keyToks) {
		if !slices.Contains(sorting, col) {
			return fmt.Errorf("table %s: sharding key %s uses %s, which is not in the sorting key of its %s (%s): copies of a row could land on different shards, where no merge collapses them: %w",
				table, key, col, engine, strings.Join(sorting, ", "), ErrClusterUnsupported)
		}
	}
	return nil
}

// columnNames lists the column names of a column list's tokens (between
// its parentheses), skipping INDEX, PROJECTION and CONSTRAINT entries.
func columnNames(toks []token) []string {
	var out []string
	first := true
	for _, t := range toks {
		if t.depth == toks[0].depth && t.text == "," {
			first = true
			continue
		}
		if first && t.depth == toks[0].depth {
			first = false
			if t.kind == tokWord && !t.is("INDEX") && !t.is("PROJECTION") && !t.is("CONSTRAINT") {
				out = append(out, t.ident())
			}
		}
	}
	return out
}

func (r *Rewriter) createView(st string, toks []token) ([]string, error) {
	name, i, err := objectName(toks, 3)
	if err != nil {
		return nil, err
	}
	if i+1 >= len(toks) || !toks[i].is("TO") || toks[i+1].kind != tokWord {
		return nil, fmt.Errorf("view %s: only materialized views with TO <table>: %w", name, ErrClusterUnsupported)
	}
	target := toks[i+1].ident()
	tkey, ok := r.tables[target]
	if !ok {
		return nil, fmt.Errorf("view %s: target %s is not a table of the migrations before it: %w", name, target, ErrClusterUnsupported)
	}
	as := findWord(toks, i+2, 0, "AS")
	if as < 0 {
		return nil, fmt.Errorf("view %s: no AS SELECT: %w", name, ErrClusterUnsupported)
	}
	var b strings.Builder
	b.WriteString(st[:toks[i-1].start])
	b.WriteString(r.qualified(name) + r.c.onCluster() + " TO " + r.qualified(target+LocalSuffix))
	last := toks[i+1].end
	sources := 0
	for j := as + 1; j < len(toks); j++ {
		if !toks[j].is("FROM") && !toks[j].is("JOIN") || j+1 >= len(toks) || toks[j+1].kind != tokWord {
			continue
		}
		src := toks[j+1]
		key, ok := r.tables[src.ident()]
		if !ok {
			continue // a CTE, a table function or a subquery alias
		}
		if norm(key) != norm(tkey) {
			return nil, fmt.Errorf("view %s reads %s (sharded by %s) into %s (sharded by %s): a shard-local view would put rows on the wrong shard: %w",
				name, src.ident(), key, target, tkey, ErrClusterUnsupported)
		}
		b.WriteString(st[last:src.start])
		b.WriteString(r.qualified(src.ident() + LocalSuffix))
		last = src.end
		sources++
	}
	if sources == 0 {
		return nil, fmt.Errorf("view %s reads none of the migrations' tables: %w", name, ErrClusterUnsupported)
	}
	b.WriteString(st[last:])
	r.views[name] = true
	return []string{b.String()}, nil
}

func norm(expr string) string { return strings.Join(strings.Fields(expr), "") }

// columnActions are the ALTER actions that change a table's columns: they
// apply to the Distributed table as well as to its local table.
var columnActions = []string{"ADD", "DROP", "MODIFY", "RENAME", "COMMENT", "CLEAR"}

func (r *Rewriter) alterTable(st string, toks []token) ([]string, error) {
	name, i, err := objectName(toks, 2)
	if err != nil {
		return nil, err
	}
	if _, ok := r.tables[name]; !ok {
		return nil, fmt.Errorf("ALTER TABLE %s: not a table of the migrations before it: %w", name, ErrClusterUnsupported)
	}
	rest := st[toks[i-1].end:]
	columns := true
	for j := i; j < len(toks); j++ {
		if j == i || toks[j].depth == 0 && toks[j-1].text == "," {
			columns = columns && slices.ContainsFunc(columnActions, toks[j].is) && j+1 < len(toks) && toks[j+1].is("COLUMN")
		}
	}
	out := []string{st[:toks[i-1].start] + r.qualified(name+LocalSuffix) + r.c.onCluster() + rest}
	if columns {
		out = append(out, st[:toks[i-1].start]+r.qualified(name)+r.c.onCluster()+rest)
	}
	return out, nil
}

func (r *Rewriter) drop(st string, toks []token) ([]string, error) {
	name, i, err := objectName(toks, 2)
	if err != nil {
		return nil, err
	}
	if i < len(toks) {
		return nil, fmt.Errorf("DROP %s: trailing clauses: %w", name, ErrClusterUnsupported)
	}
	head := st[:toks[i-1].start]
	if toks[1].is("VIEW") || r.views[name] {
		delete(r.views, name)
		return []string{head + r.qualified(name) + r.c.onCluster() + " SYNC"}, nil
	}
	delete(r.tables, name)
	return []string{
		head + r.qualified(name) + r.c.onCluster() + " SYNC",
		head + r.qualified(name+LocalSuffix) + r.c.onCluster() + " SYNC",
	}, nil
}

// ClusterMigrations loads the migrations in fsys and rewrites them for
// cluster c and database db.
func ClusterMigrations(fsys fs.FS, c Cluster, db string) ([]Migration, error) {
	migs, err := LoadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	rw, err := NewRewriter(c, db)
	if err != nil {
		return nil, err
	}
	for i, m := range migs {
		if migs[i], err = rw.Migration(m); err != nil {
			return nil, err
		}
	}
	return migs, nil
}

// clusterMigrationsTable is schema_migrations on a cluster: replicated to
// every node of every shard (one Keeper path without {shard}), so that any
// node reads the whole history locally.
func clusterMigrationsTable(c Cluster) string {
	return `CREATE TABLE IF NOT EXISTS ` + MigrationsTable + c.onCluster() + ` (
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
) ENGINE = ReplicatedReplacingMergeTree(` + QuoteString(c.zkPath()+"/all/{database}/"+MigrationsTable) + `, '{replica}')
ORDER BY version`
}

// SettingForegroundInsert makes an insert into a Distributed table return
// only once every shard has written its rows, with the insert's settings
// (insert_deduplication_token included) forwarded to the shards. Without
// it the rows wait in the initiator's queue, so the sink would commit
// offsets for rows that a lost node never delivers, and a replay would not
// meet its first insert in the shard's deduplication log. The server store
// sends it on every insert (it is ignored by other engines).
const SettingForegroundInsert = "distributed_foreground_insert"

// MigrateCluster is Migrate for a sharded, replicated cluster: the same
// migrations from fsys, rewritten by a Rewriter for c and the store's
// database, run ON CLUSTER, recorded in a schema_migrations table
// replicated to every node. Checksums are those of the source files, so
// editing a migration is refused as in Migrate.
func MigrateCluster(ctx context.Context, s Store, fsys fs.FS, c Cluster) ([]string, error) {
	migs, err := ClusterMigrations(fsys, c, s.Database())
	if err != nil {
		return nil, err
	}
	res, err := s.Query(ctx, `SELECT count() FROM system.clusters WHERE cluster = {c:String}`, StringParam("c", c.Name))
	if err != nil {
		return nil, fmt.Errorf("look up cluster %s: %w", c.Name, err)
	}
	if n, err := res.Uint64(0, 0); err != nil || n == 0 {
		return nil, fmt.Errorf("cluster %q is not in the server's remote_servers (system.clusters): see deploy/clickhouse", c.Name)
	}
	if err := s.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(s.Database())+c.onCluster()); err != nil {
		return nil, fmt.Errorf("create database on cluster %s: %w", c.Name, err)
	}
	return migrate(ctx, s, migs, clusterMigrationsTable(c))
}
