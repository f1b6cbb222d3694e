package deploy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The Kubernetes manifests under deploy/k8s are checked in three ways:
//
//  1. rendered by kustomize itself (sigs.k8s.io/kustomize/api/krusty, the
//     library behind kubectl kustomize), base and example overlay;
//  2. every rendered object validated against the strict JSON schemas of
//     Kubernetes v1.37 (generated from the API server's OpenAPI document,
//     "additionalProperties": false, so a misspelt or misplaced field is
//     an error, as it is for kubectl apply --validate=strict), with the
//     JSON Schema validator the project already uses for its event
//     schemas (santhosh-tekuri/jsonschema). The schemas come from the
//     PyPI package kubernetes-validate, fetched and checksummed by
//     deploy/scripts/fetch-k8s-schemas.sh: the usual schema sets
//     (kubeconform's) are on GitHub, which this project's machines cannot
//     reach, and decoding into k8s.io/api types would check field names
//     but not the schema's types, enums and required fields;
//  3. the invariants the deployment depends on (checkInvariants).
//
// The cases of TestK8sRejects break the rendered manifests and must each be
// rejected, so the checks are known to bite.

// k8sSchemaVersion is the Kubernetes release whose schemas are used.
const k8sSchemaVersion = "v1.37.0"

// schemaDir finds the schemas: $STOCKFLOW_K8S_SCHEMAS, else the cache of
// fetch-k8s-schemas.sh. It fails the test, naming what is missing.
func schemaDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("STOCKFLOW_K8S_SCHEMAS")
	if dir == "" {
		cache := os.Getenv("STOCKFLOW_CACHE")
		if cache == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					t.Fatalf("Kubernetes JSON schemas: no STOCKFLOW_K8S_SCHEMAS and no home directory: %v", err)
				}
				base = filepath.Join(home, ".cache")
			}
			cache = filepath.Join(base, "stockflow")
		}
		dir = filepath.Join(cache, "k8s-schemas", k8sSchemaVersion+"-local-strict")
	}
	if _, err := os.Stat(filepath.Join(dir, "_definitions.json")); err != nil {
		t.Fatalf("Kubernetes %s JSON schemas missing (%v): run deploy/scripts/fetch-k8s-schemas.sh (PyPI kubernetes-validate) or set STOCKFLOW_K8S_SCHEMAS", k8sSchemaVersion, err)
	}
	return dir
}

// validator compiles one schema per kind on demand.
type validator struct {
	dir string
	mu  sync.Mutex
	c   *jsonschema.Compiler
	got map[string]*jsonschema.Schema
}

func newValidator(t *testing.T) *validator {
	t.Helper()
	dir := schemaDir(t)
	c := jsonschema.NewCompiler()
	defs, err := loadJSON(filepath.Join(dir, "_definitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The per-kind schemas refer to "/api/_definitions.json#/$defs/…",
	// relative to their $id https://kubernetes.io/api/<kind>/<group>/<version>.
	if err := c.AddResource("https://kubernetes.io/api/_definitions.json", defs); err != nil {
		t.Fatal(err)
	}
	return &validator{dir: dir, c: c, got: map[string]*jsonschema.Schema{}}
}

func loadJSON(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	v, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// schema returns the schema of apiVersion/kind: file <kind>-<group>-<version>.json,
// or <kind>-<version>.json for the core group.
func (v *validator) schema(apiVersion, kind string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	key := apiVersion + "/" + kind
	if s, ok := v.got[key]; ok {
		return s, nil
	}
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", apiVersion
	}
	name := strings.ToLower(kind)
	if group != "" {
		name += "-" + strings.Split(group, ".")[0]
	}
	name += "-" + version + ".json"
	path := filepath.Join(v.dir, name)
	doc, err := loadJSON(path)
	if err != nil {
		return nil, fmt.Errorf("no schema for %s %s in Kubernetes %s: %w", apiVersion, kind, k8sSchemaVersion, err)
	}
	id, _ := asMap(doc)["$id"].(string)
	if id == "" {
		return nil, fmt.Errorf("schema %s has no $id", path)
	}
	if err := v.c.AddResource(id, doc); err != nil {
		return nil, err
	}
	s, err := v.c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", path, err)
	}
	v.got[key] = s
	return s, nil
}

// validate checks one object against its kind's schema.
func (v *validator) validate(obj map[string]any) error {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	s, err := v.schema(apiVersion, kind)
	if err != nil {
		return err
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("%s %s: %w", kind, name(obj), err)
	}
	return nil
}

// render runs kustomize on a directory under deploy/k8s.
func render(t *testing.T, dir string) []map[string]any {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join("k8s", dir))
	if err != nil {
		t.Fatalf("kustomize build deploy/k8s/%s: %v", dir, err)
	}
	var out []map[string]any
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("deploy/k8s/%s renders no objects", dir)
	}
	return out
}

func TestK8sManifests(t *testing.T) {
	v := newValidator(t)
	for _, dir := range []string{"base", "overlays/example"} {
		t.Run(dir, func(t *testing.T) {
			objs := render(t, dir)
			for _, err := range check(v, objs, dir != "base") {
				t.Error(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, fmt.Sprintf("%s/%s", o["kind"], name(o)))
			}
			t.Logf("%d objects valid: %s", len(objs), strings.Join(kinds, ", "))
		})
	}
}

// TestK8sOverlay checks what the example overlay must add to the base.
func TestK8sOverlay(t *testing.T) {
	objs := render(t, "overlays/example")
	for _, o := range objs {
		if o["kind"] == "Namespace" {
			continue
		}
		if ns := str(o, "metadata", "namespace"); ns != "stockflow" {
			t.Errorf("%s %s: namespace %q, want stockflow", o["kind"], name(o), ns)
		}
	}
	proc := find(objs, "StatefulSet", "stockflow-process")
	if proc == nil {
		t.Fatal("no StatefulSet stockflow-process")
	}
	if img := str(containers(proc)[0], "image"); img != "registry.example.com/stockflow:v0.1.0" {
		t.Errorf("image %q, want the overlay's", img)
	}
	cm := findPrefix(objs, "ConfigMap", "stockflow-config-")
	if cm == nil || str(cm, "data", "STOCKFLOW_CLICKHOUSE_CLUSTER") != "stockflow" || str(cm, "data", "STOCKFLOW_HTTP") != "0.0.0.0:8686" {
		t.Errorf("config map does not merge the overlay's settings into the base's: %v", cm)
	}
	sec := findPrefix(objs, "Secret", "stockflow-secrets-")
	if sec == nil {
		t.Fatal("no generated Secret stockflow-secrets-<hash>")
	}
	for k := range mapAt(sec, "data") {
		if !strings.Contains(decodedSecret(t, sec, k), "CHANGE_ME") {
			t.Errorf("example Secret key %s is not a CHANGE_ME placeholder", k)
		}
	}
}

// TestK8sEnvKnown checks that the manifests set only the STOCKFLOW_*
// variables internal/config reads (config.Env) and Go's own.
func TestK8sEnvKnown(t *testing.T) {
	known := configEnv(t)
	for _, dir := range []string{"base", "overlays/example"} {
		for _, o := range render(t, dir) {
			var names []string
			if o["kind"] == "ConfigMap" || o["kind"] == "Secret" {
				for k := range mapAt(o, "data") {
					names = append(names, k)
				}
			}
			for _, c := range containers(o) {
				for _, e := range list(c, "env") {
					names = append(names, str(asMap(e), "name"))
				}
			}
			for _, n := range names {
				if strings.HasPrefix(n, "STOCKFLOW_") && !slices.Contains(known, n) {
					t.Errorf("%s: %s %s sets %s, which internal/config does not read", dir, o["kind"], name(o), n)
				}
			}
		}
	}
}

// configEnv reads the names in config.Env from internal/config/config.go,
// without importing it (package deploy must not depend on the code).
func configEnv(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "config", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "var Env = []string{")
	body, _, ok2 := strings.Cut(rest, "}")
	if !ok || !ok2 {
		t.Fatal("no var Env = []string{…} in internal/config/config.go")
	}
	var out []string
	for _, f := range strings.Split(body, ",") {
		if f = strings.Trim(strings.TrimSpace(f), `"`); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// TestK8sRejects breaks the rendered example overlay in ways that must be
// caught, each by the schema or by an invariant.
func TestK8sRejects(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		name   string
		mutate func(objs []map[string]any)
		want   string
	}{
		{"misspelt field", func(o []map[string]any) {
			c := containers(find(o, "StatefulSet", "stockflow-process"))[0]
			c["readinesProbe"] = c["readinessProbe"]
			delete(c, "readinessProbe")
		}, "additional properties 'readinesProbe'"},
		{"wrong type", func(o []map[string]any) {
			mapAt(find(o, "StatefulSet", "stockflow-process"), "spec")["replicas"] = "three"
		}, "replicas"},
		{"service port without a number", func(o []map[string]any) {
			delete(asMap(list(find(o, "Service", "stockflow-serve"), "spec", "ports")[0]), "port")
		}, "missing property 'port'"},
		{"period as a string", func(o []map[string]any) {
			mapAt(containers(find(o, "StatefulSet", "stockflow-process"))[0], "startupProbe")["periodSeconds"] = "5"
		}, "periodSeconds"},
		{"container without image name", func(o []map[string]any) {
			delete(containers(find(o, "Deployment", "stockflow-serve"))[0], "name")
		}, "missing property 'name'"},
		{"unknown kind", func(o []map[string]any) {
			find(o, "PodDisruptionBudget", "stockflow-process")["apiVersion"] = "policy/v1beta3"
		}, "no schema for policy/v1beta3"},
		{"readiness on /healthz", func(o []map[string]any) {
			mapAt(containers(find(o, "StatefulSet", "stockflow-process"))[0], "readinessProbe", "httpGet")["path"] = "/healthz"
		}, "readinessProbe on /healthz, want /readyz"},
		{"no liveness", func(o []map[string]any) {
			delete(containers(find(o, "Deployment", "stockflow-serve"))[0], "livenessProbe")
		}, "no livenessProbe"},
		{"root", func(o []map[string]any) {
			mapAt(find(o, "StatefulSet", "stockflow-process"), "spec", "template", "spec", "securityContext")["runAsNonRoot"] = false
		}, "runAsNonRoot"},
		{"writable root", func(o []map[string]any) {
			mapAt(containers(find(o, "Deployment", "stockflow-serve"))[0], "securityContext")["readOnlyRootFilesystem"] = false
		}, "readOnlyRootFilesystem"},
		{"no memory limit", func(o []map[string]any) {
			delete(mapAt(containers(find(o, "StatefulSet", "stockflow-process"))[0], "resources"), "limits")
		}, "memory limit"},
		{"inline secret", func(o []map[string]any) {
			c := containers(find(o, "StatefulSet", "stockflow-process"))[0]
			c["env"] = append(list(c, "env"), map[string]any{"name": "STOCKFLOW_KAFKA_SASL_PASSWORD", "value": "hunter2"})
		}, "STOCKFLOW_KAFKA_SASL_PASSWORD inline"},
		{"secret in the config map", func(o []map[string]any) {
			mapAt(findPrefix(o, "ConfigMap", "stockflow-config-"), "data")["STOCKFLOW_CLICKHOUSE"] = "clickhouse://u:p@h/db"
		}, "ConfigMap"},
		{"PDB selects nothing", func(o []map[string]any) {
			mapAt(find(o, "PodDisruptionBudget", "stockflow-process"), "spec", "selector", "matchLabels")["app.kubernetes.io/component"] = "worker"
		}, "selects no process pods"},
		{"dangling secret", func(o []map[string]any) {
			c := containers(find(o, "Deployment", "stockflow-serve"))[0]
			mapAt(asMap(list(c, "env")[0]), "valueFrom", "secretKeyRef")["name"] = "stockflow-secret"
		}, "Secret stockflow-secret"},
		{"short grace period", func(o []map[string]any) {
			mapAt(find(o, "StatefulSet", "stockflow-process"), "spec", "template", "spec")["terminationGracePeriodSeconds"] = 30
		}, "terminationGracePeriodSeconds"},
		{"service misses pods", func(o []map[string]any) {
			mapAt(find(o, "Service", "stockflow-serve"), "spec", "selector")["app.kubernetes.io/component"] = "api"
		}, "Service stockflow-serve selects no pods"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, "overlays/example")
			if errs := check(v, objs, true); len(errs) > 0 {
				t.Fatalf("the unbroken manifests fail: %v", errs)
			}
			tc.mutate(objs)
			errs := check(v, objs, true)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Errorf("not rejected with %q; errors: %v", tc.want, errs)
		})
	}
}

// check validates every object against its schema and checks the
// invariants; complete says the Secret is part of the objects (overlays).
func check(v *validator, objs []map[string]any, complete bool) []error {
	var errs []error
	for _, o := range objs {
		if err := v.validate(o); err != nil {
			errs = append(errs, err)
		}
	}
	return append(errs, checkInvariants(objs, complete)...)
}

// minGrace is shutdown_timeout's default (60 s) plus the preStop pause:
// the process must get to finish both phases of its shutdown.
const minGrace = 65

// secretish are environment variables whose values are credentials (the
// ClickHouse DSN carries a password).
var secretish = []string{"PASSWORD", "TOKEN", "SECRET", "STOCKFLOW_CLICKHOUSE"}

func isSecretish(env string) bool {
	if env == "STOCKFLOW_CLICKHOUSE_CLUSTER" {
		return false
	}
	return slices.ContainsFunc(secretish, func(s string) bool { return strings.Contains(env, s) })
}

// checkInvariants checks what the deployment relies on beyond the schema.
func checkInvariants(objs []map[string]any, complete bool) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	var processPods map[string]any
	workloads := 0
	for _, o := range objs {
		kind := o["kind"]
		switch kind {
		case "ConfigMap":
			for k := range mapAt(o, "data") {
				if isSecretish(k) {
					fail("ConfigMap %s holds %s: credentials belong in the Secret", name(o), k)
				}
			}
		case "Deployment", "StatefulSet":
			workloads++
			spec := mapAt(o, "spec", "template", "spec")
			labels := mapAt(o, "spec", "template", "metadata", "labels")
			if !matches(mapAt(o, "spec", "selector", "matchLabels"), labels) {
				fail("%s %s: selector does not match its pod labels", kind, name(o))
			}
			if labels["app.kubernetes.io/component"] == "process" {
				processPods = labels
				if g, _ := spec["terminationGracePeriodSeconds"].(int); g < minGrace {
					fail("%s %s: terminationGracePeriodSeconds %v, want at least %d for the two-phase shutdown", kind, name(o), spec["terminationGracePeriodSeconds"], minGrace)
				}
			}
			if sc := mapAt(spec, "securityContext"); !isTrue(sc["runAsNonRoot"]) {
				fail("%s %s: pod securityContext.runAsNonRoot is not true", kind, name(o))
			}
			for _, c := range containers(o) {
				errs = append(errs, checkContainer(fmt.Sprintf("%s %s container %s", kind, name(o), str(c, "name")), c, objs, complete)...)
			}
		}
	}
	if workloads == 0 {
		fail("no Deployment or StatefulSet")
	}
	if processPods == nil {
		fail("no stockflow process workload (pod label app.kubernetes.io/component=process)")
	}
	pdbs := 0
	for _, o := range objs {
		switch o["kind"] {
		case "PodDisruptionBudget":
			pdbs++
			if processPods != nil && !matches(mapAt(o, "spec", "selector", "matchLabels"), processPods) {
				fail("PodDisruptionBudget %s selects no process pods", name(o))
			}
		case "Service":
			sel := mapAt(o, "spec", "selector")
			found := false
			for _, w := range objs {
				if w["kind"] == "Deployment" || w["kind"] == "StatefulSet" {
					found = found || len(sel) > 0 && matches(sel, mapAt(w, "spec", "template", "metadata", "labels"))
				}
			}
			if !found {
				fail("Service %s selects no pods", name(o))
			}
		}
	}
	if pdbs == 0 {
		fail("no PodDisruptionBudget")
	}
	return errs
}

func checkContainer(where string, c map[string]any, objs []map[string]any, complete bool) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(where+": "+format, args...)) }
	if p := str(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		fail("readinessProbe on %s, want /readyz (ready once its partitions are restored)", p)
	}
	if _, ok := c["livenessProbe"]; !ok {
		fail("no livenessProbe")
	} else if p := str(c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		fail("livenessProbe on %s, want /healthz", p)
	}
	sc := mapAt(c, "securityContext")
	if !isTrue(sc["readOnlyRootFilesystem"]) || sc["allowPrivilegeEscalation"] != any(false) {
		fail("securityContext must set readOnlyRootFilesystem: true and allowPrivilegeEscalation: false")
	}
	if drop := list(sc, "capabilities", "drop"); !slices.Contains(drop, any("ALL")) {
		fail("capabilities.drop lacks ALL")
	}
	if str(c, "resources", "requests", "cpu") == "" || str(c, "resources", "requests", "memory") == "" {
		fail("cpu and memory requests must be set")
	}
	if str(c, "resources", "limits", "memory") == "" {
		fail("no memory limit")
	}
	for _, e := range list(c, "env") {
		e := asMap(e)
		n := str(e, "name")
		if _, inline := e["value"]; inline && isSecretish(n) {
			fail("%s inline: read it from a Secret (valueFrom.secretKeyRef)", n)
		}
		if ref := str(e, "valueFrom", "secretKeyRef", "name"); ref != "" && complete && find(objs, "Secret", ref) == nil {
			fail("env %s refers to Secret %s, which is not rendered", n, ref)
		}
	}
	for _, ef := range list(c, "envFrom") {
		if ref := str(asMap(ef), "configMapRef", "name"); ref != "" && find(objs, "ConfigMap", ref) == nil {
			fail("envFrom refers to ConfigMap %s, which is not rendered", ref)
		}
	}
	return errs
}

// --- helpers over decoded objects -----------------------------------------

func isTrue(v any) bool { b, _ := v.(bool); return b }

// asMap is v as an object, or an empty one.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func mapAt(o map[string]any, path ...string) map[string]any {
	cur := o
	for _, p := range path {
		next, _ := cur[p].(map[string]any)
		if next == nil {
			return map[string]any{}
		}
		cur = next
	}
	return cur
}

func str(o map[string]any, path ...string) string {
	s, _ := mapAt(o, path[:len(path)-1]...)[path[len(path)-1]].(string)
	return s
}

func list(o map[string]any, path ...string) []any {
	l, _ := mapAt(o, path[:len(path)-1]...)[path[len(path)-1]].([]any)
	return l
}

func name(o map[string]any) string { return str(o, "metadata", "name") }

func containers(o map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range list(mapAt(o, "spec", "template", "spec"), "containers") {
		out = append(out, asMap(c))
	}
	return out
}

func find(objs []map[string]any, kind, n string) map[string]any {
	for _, o := range objs {
		if o["kind"] == kind && name(o) == n {
			return o
		}
	}
	return nil
}

func findPrefix(objs []map[string]any, kind, prefix string) map[string]any {
	for _, o := range objs {
		if o["kind"] == kind && strings.HasPrefix(name(o), prefix) {
			return o
		}
	}
	return nil
}

// matches reports whether every label of sel is in labels.
func matches(sel, labels map[string]any) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func decodedSecret(t *testing.T, sec map[string]any, key string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(str(sec, "data", key)), ""))
	if err != nil {
		t.Fatalf("Secret key %s: %v", key, err)
	}
	return string(b)
}
