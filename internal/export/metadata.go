package export

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SchemaFile and ReadmeFile are written beside the partitions. Their
// names start with an underscore, which Parquet dataset readers (pyarrow,
// pandas, Spark) skip, so the directory reads with no options.
const (
	SchemaFile = "_schema.json"
	ReadmeFile = "_README.md"
)

// oldReadmeFile is where exports before ReadmeFile wrote the README; it
// made pd.read_parquet(DIR) fail, so an export removes it.
const oldReadmeFile = "README.md"

// ColumnInfo is a column as _schema.json describes it.
type ColumnInfo struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	ParquetType string `json:"parquet_type"`
	Nullable    bool   `json:"nullable"`
	Dictionary  bool   `json:"dictionary"`
	Unit        string `json:"unit,omitempty"`
	TimeZone    string `json:"time_zone,omitempty"`
	Description string `json:"description"`
}

// SchemaDoc is the content of _schema.json.
type SchemaDoc struct {
	Dataset      string         `json:"dataset"`
	Description  string         `json:"description"`
	Format       string         `json:"format"`
	Compression  string         `json:"compression"`
	Partitioning map[string]any `json:"partitioning"`
	SortedBy     []string       `json:"sorted_by"`
	Columns      []ColumnInfo   `json:"columns"`
	Holidays     []Holiday      `json:"holidays,omitempty"`
	LastExport   map[string]any `json:"last_export"`
	GeneratedBy  string         `json:"generated_by"`
}

func parquetTypeName(k Kind) string {
	switch k {
	case String:
		return "BYTE_ARRAY (STRING)"
	case Int64:
		return "INT64"
	case Float64:
		return "DOUBLE"
	case Bool:
		return "BOOLEAN"
	case Timestamp:
		return "INT64 (TIMESTAMP(MILLIS, isAdjustedToUTC=true))"
	case Date:
		return "INT32 (DATE)"
	}
	return k.String()
}

// Describe returns the dataset's _schema.json document, without the
// figures of an export.
func (d *Dataset) Describe() SchemaDoc {
	doc := SchemaDoc{
		Dataset: d.Name, Description: d.Doc, Format: "parquet", Compression: "zstd",
		Partitioning: map[string]any{
			"style": "hive", "key": PartitionKey, "type": "date", "format": "YYYY-MM-DD", "time_zone": "UTC",
			"path": PartitionKey + "=YYYY-MM-DD/" + PartitionFile,
			"note": "the key is in the directory name only, not in the files",
		},
		SortedBy: d.SortedBy,
	}
	for _, c := range d.Columns {
		doc.Columns = append(doc.Columns, ColumnInfo{
			Name: c.Name, Type: c.Kind.String(), ParquetType: parquetTypeName(c.Kind), Nullable: c.Nullable,
			Dictionary: c.Dict, Unit: c.Unit, TimeZone: c.timeZone(), Description: c.Doc,
		})
	}
	return doc
}

func writeMetadata(opts Options, res *Result) error {
	doc := opts.Dataset.Describe()
	if opts.Dataset.Name == featuresDataset.Name {
		doc.Holidays = opts.holidays()
	}
	doc.LastExport = map[string]any{
		"from": res.From, "to": res.To, "rows": res.Rows, "partitions": len(res.Partitions),
		"skus": nonNil(opts.SKUs), "warehouses": nonNil(opts.Warehouses), "regions": nonNil(opts.Regions),
	}
	doc.GeneratedBy = strings.TrimSpace("stockflow " + opts.Version)
	b, err := marshalJSON(doc)
	if err != nil {
		return fmt.Errorf("export: encode schema: %w", err)
	}
	if err := writeAtomic(filepath.Join(opts.Out, SchemaFile), b); err != nil {
		return fmt.Errorf("export: write %s: %w", SchemaFile, err)
	}
	if err := writeAtomic(filepath.Join(opts.Out, ReadmeFile), []byte(Readme(doc))); err != nil {
		return fmt.Errorf("export: write %s: %w", ReadmeFile, err)
	}
	return removeOldReadme(opts.Out)
}

// removeOldReadme removes the README.md an earlier export wrote (its
// first line is Readme's title), and leaves any other README.md alone.
func removeOldReadme(out string) error {
	path := filepath.Join(out, oldReadmeFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("export: read %s: %w", oldReadmeFile, err)
	}
	if !bytes.HasPrefix(b, []byte(readmeTitle)) {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("export: remove the old %s: %w", oldReadmeFile, err)
	}
	return nil
}

// readmeTitle starts every README an export writes.
const readmeTitle = "# stockflow export: "

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Readme renders the _README.md of an export directory from its schema.
func Readme(doc SchemaDoc) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s\n\n%s\n\n", readmeTitle, doc.Dataset, doc.Description)
	fmt.Fprintf(&b, "Parquet files (zstd, dictionary-encoded low-cardinality columns, column statistics), "+
		"Hive-partitioned by UTC day: `%s`. The partition key `%s` is in the directory name only. "+
		"Rows inside a file are sorted by %s. All times are UTC.\n\n",
		doc.Partitioning["path"], PartitionKey, strings.Join(doc.SortedBy, ", "))
	if le := doc.LastExport; le != nil {
		fmt.Fprintf(&b, "Last export: %v to %v (inclusive), %v rows in %v partitions.\n\n", le["from"], le["to"], le["rows"], le["partitions"])
	}
	b.WriteString("## Reading it\n\npandas and pyarrow skip the files that start with `_` or `.` (this one, `" + SchemaFile + "`, partitions being written), " +
		"so the directory reads as it is; polars refuses a directory holding other files than Parquet, so give it the glob:\n\n")
	b.WriteString("```python\nimport pandas as pd\ndf = pd.read_parquet(\"DIR\")\n\n" +
		"import pyarrow.dataset as ds\nt = ds.dataset(\"DIR\", format=\"parquet\", partitioning=\"hive\").to_table()\n\n" +
		"import polars as pl\ndf = pl.read_parquet(\"DIR/**/*.parquet\", hive_partitioning=True)\n```\n\n")
	b.WriteString("ClickHouse: `SELECT * FROM file('DIR/date=*/*.parquet', Parquet)`.\n\n")
	b.WriteString("## Columns\n\n| column | type | nullable | unit | time zone | description |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, c := range doc.Columns {
		null := "no"
		if c.Nullable {
			null = "yes"
		}
		typ := c.Type
		if c.Dictionary {
			typ += " (dictionary)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", c.Name, typ, null, c.Unit, c.TimeZone, strings.ReplaceAll(c.Description, "|", "\\|"))
	}
	if len(doc.Holidays) > 0 {
		b.WriteString("\n## Holiday calendar\n\nThe `holiday`, `days_to_holiday` and `days_since_holiday` columns use these days (listed in `_schema.json`):\n\n")
		for _, h := range doc.Holidays {
			fmt.Fprintf(&b, "- %s %s\n", day(h.Date), h.Name)
		}
	}
	return b.String()
}
