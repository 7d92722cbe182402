package api

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/weirhq/weir/internal/access"
	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/reconcile"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/usage"
	"github.com/weirhq/weir/internal/value"
)

// The tests in this file keep docs/openapi.yaml honest: they fail when a
// record field, a query parameter, a route or an attribution header is added
// to the code without being documented, or documented without existing.

const specPath = "../../docs/openapi.yaml"

type oaSpec struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas    map[string]*oaSchema   `yaml:"schemas"`
		Parameters map[string]oaParameter `yaml:"parameters"`
	} `yaml:"components"`
}

type oaOperation struct {
	Parameters []oaParameter `yaml:"parameters"`
	Responses  map[string]struct {
		Ref     string               `yaml:"$ref"`
		Headers map[string]yaml.Node `yaml:"headers"`
	} `yaml:"responses"`
}

type oaParameter struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

type oaSchema struct {
	Ref        string               `yaml:"$ref"`
	Type       yaml.Node            `yaml:"type"`
	Properties map[string]*oaSchema `yaml:"properties"`
	Required   []string             `yaml:"required"`
	OneOf      []*oaSchema          `yaml:"oneOf"`
	AnyOf      []*oaSchema          `yaml:"anyOf"`
	Enum       []string             `yaml:"enum"`
}

func loadSpec(t *testing.T) *oaSpec {
	t.Helper()
	b, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var s oaSpec
	if err := yaml.Unmarshal(b, &s); err != nil {
		t.Fatalf("parse %s: %v", specPath, err)
	}
	return &s
}

// operation returns the operation for method on path, or nil.
func (s *oaSpec) operation(t *testing.T, method, path string) *oaOperation {
	t.Helper()
	item, ok := s.Paths[path]
	if !ok {
		return nil
	}
	n, ok := item[strings.ToLower(method)]
	if !ok {
		return nil
	}
	var op oaOperation
	if err := n.Decode(&op); err != nil {
		t.Fatalf("decode %s %s: %v", method, path, err)
	}
	return &op
}

// parameters returns op's parameters with $refs resolved.
func (s *oaSpec) parameters(t *testing.T, op *oaOperation) []oaParameter {
	t.Helper()
	var out []oaParameter
	for _, p := range op.Parameters {
		if p.Ref != "" {
			name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
			r, found := s.Components.Parameters[name]
			if !ok || !found {
				t.Fatalf("unresolvable parameter $ref %q", p.Ref)
			}
			p = r
		}
		out = append(out, p)
	}
	return out
}

// allowsNull reports whether sc admits JSON null: type null or a list of
// types holding "null", directly or in a oneOf/anyOf branch.
func allowsNull(sc *oaSchema) bool {
	switch sc.Type.Kind {
	case yaml.ScalarNode:
		if sc.Type.Value == "null" {
			return true
		}
	case yaml.SequenceNode:
		for _, n := range sc.Type.Content {
			if n.Value == "null" {
				return true
			}
		}
	}
	for _, b := range append(slices.Clone(sc.OneOf), sc.AnyOf...) {
		if allowsNull(b) {
			return true
		}
	}
	return false
}

func TestOpenAPIVersion(t *testing.T) {
	s := loadSpec(t)
	if !strings.HasPrefix(s.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", s.OpenAPI)
	}
	if len(s.Paths) == 0 {
		t.Error("spec declares no paths")
	}
}

// jsonField is one property of a Go type's JSON encoding.
type jsonField struct {
	name      string
	omitempty bool
	pointer   bool
}

// jsonFields lists the properties encoding/json writes for struct type typ,
// flattening embedded structs without a json name as encoding/json does.
func jsonFields(typ reflect.Type) []jsonField {
	var out []jsonField
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{
			name:      name,
			omitempty: slices.Contains(strings.Split(opts, ","), "omitempty"),
			pointer:   f.Type.Kind() == reflect.Pointer,
		})
	}
	return out
}

func TestOpenAPISchemasMatchTypes(t *testing.T) {
	s := loadSpec(t)
	for _, tc := range []struct {
		schema string
		typ    reflect.Type
	}{
		{"Record", reflect.TypeFor[record.Record]()},
		{"ExperimentSpec", reflect.TypeFor[experiment.Spec]()},
		{"ExperimentVariant", reflect.TypeFor[experiment.Variant]()},
		{"ExperimentEvaluator", reflect.TypeFor[experiment.EvaluatorSpec]()},
		{"Experiment", reflect.TypeFor[experiment.Experiment]()},
		{"ExperimentProgress", reflect.TypeFor[experiment.Progress]()},
		{"ExperimentCreated", reflect.TypeFor[experiment.Created]()},
		{"ExperimentResult", reflect.TypeFor[experiment.Result]()},
		{"ExperimentResultScore", reflect.TypeFor[experiment.ResultScore]()},
		{"ExperimentCriterionStats", reflect.TypeFor[experiment.CriterionStats]()},
		{"ExperimentVariantStats", reflect.TypeFor[experiment.VariantStats]()},
		{"ExperimentDifference", reflect.TypeFor[experiment.Difference]()},
		{"ExperimentComparison", reflect.TypeFor[experiment.Comparison]()},
		{"Usage", reflect.TypeFor[usage.Usage]()},
		{"Attempt", reflect.TypeFor[record.Attempt]()},
		{"ITL", reflect.TypeFor[record.ITL]()},
		{"Cost", reflect.TypeFor[pricing.Cost]()},
		{"CostRevision", reflect.TypeFor[store.CostRevision]()},
		{"StoredPriceEntry", reflect.TypeFor[store.StoredPriceEntry]()},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			sc := s.Components.Schemas[tc.schema]
			if sc == nil {
				t.Fatalf("components.schemas.%s is missing", tc.schema)
			}
			fields := jsonFields(tc.typ)
			inGo := map[string]bool{}
			for _, f := range fields {
				inGo[f.name] = true
				p, ok := sc.Properties[f.name]
				if !ok {
					t.Errorf("%s encodes %q, which the %s schema does not document", tc.typ, f.name, tc.schema)
					continue
				}
				if req := slices.Contains(sc.Required, f.name); req == f.omitempty {
					t.Errorf("%s.%s: required = %v in the spec, but omitempty = %v in Go", tc.schema, f.name, req, f.omitempty)
				}
				if p.Ref == "" {
					if got := allowsNull(p); got != f.pointer {
						t.Errorf("%s.%s: spec allows null = %v, but the Go field is a pointer = %v", tc.schema, f.name, got, f.pointer)
					}
				}
			}
			for name := range sc.Properties {
				if !inGo[name] {
					t.Errorf("the %s schema documents %q, which %s does not encode", tc.schema, name, tc.typ)
				}
			}
			for _, name := range sc.Required {
				if !inGo[name] {
					t.Errorf("the %s schema requires %q, which %s does not encode", tc.schema, name, tc.typ)
				}
			}
		})
	}
}

func TestOpenAPIErrorKinds(t *testing.T) {
	s := loadSpec(t)
	sc := s.Components.Schemas["ErrorKind"]
	if sc == nil {
		t.Fatal("components.schemas.ErrorKind is missing")
	}
	var kinds []string
	for k := apierror.Kind(0); !strings.HasPrefix(k.String(), "kind("); k++ {
		kinds = append(kinds, k.String())
	}
	for _, k := range kinds {
		if !slices.Contains(sc.Enum, k) {
			t.Errorf("error kind %q is missing from the ErrorKind enum", k)
		}
	}
	for _, k := range sc.Enum {
		if !slices.Contains(kinds, k) {
			t.Errorf("the ErrorKind enum lists %q, which apierror does not define", k)
		}
	}
}

// registeredRoutes returns the "METHOD PATTERN" strings passed to
// mux.Handle and mux.HandleFunc in the non-test Go files of dir. Patterns
// without a method (catch-alls) are left out.
func registeredRoutes(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			// The API's handle(method, path, handler) helper.
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "handle" && len(call.Args) == 3 {
				m, ok1 := call.Args[0].(*ast.BasicLit)
				p, ok2 := call.Args[1].(*ast.BasicLit)
				if ok1 && ok2 {
					method, _ := strconv.Unquote(m.Value)
					path, _ := strconv.Unquote(p.Value)
					out = append(out, method+" "+path)
				}
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			if strings.Contains(pattern, " ") {
				out = append(out, pattern)
			}
			return true
		})
	}
	return out
}

// specPathOf turns a ServeMux pattern path into its OpenAPI form:
// "/{$}" is "/", "{name...}" is "{name}".
func specPathOf(pattern string) string {
	p := strings.TrimSuffix(pattern, "{$}")
	return strings.ReplaceAll(p, "...}", "}")
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := loadSpec(t)
	var api []string
	for _, ri := range everything(fakePeople{}).Routes() {
		api = append(api, ri.Method+" "+ri.Path)
	}
	for _, want := range []string{"GET /api/v1/requests", "GET /api/v1/requests/{id}", "GET /api/v1/config"} {
		if !slices.Contains(api, want) {
			t.Errorf("found no registration of %q in api.go (found %q): update this test", want, api)
		}
	}
	// The gateway and the app serve the rest of the listener; the same spec
	// documents them.
	routes := append(api, registeredRoutes(t, "../gateway")...)
	routes = append(routes, registeredRoutes(t, "../app")...)
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		if s.operation(t, method, specPathOf(pattern)) == nil {
			t.Errorf("route %q is registered but the spec has no %s %s", r, method, specPathOf(pattern))
		}
	}

	// And the other way: every documented management path is served by a
	// real handler, not the /api/ catch-all.
	mux := http.NewServeMux()
	New(Options{Requests: &fakeReader{}, Config: func() any { return map[string]any{} }, Costs: &fakeCosts{}, Rollups: anyRollups{}, Identities: anyIdentities{},
		Prices: fakePrices{}, Commitments: fakeCommitments{}, Reconciler: fakeReconciler{}, UseCases: fakeUseCases{}, Ingest: http.NotFoundHandler(), Limits: fakeLimits{}, Alerts: http.NotFoundHandler(), Forecaster: fakeForecaster{}, Access: fakeAccess{},
		People: fakePeople{}, Credentials: http.NotFoundHandler(), Extra: everything(nil).opt.Extra}).Register(mux)
	for path, item := range s.Paths {
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		for method := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			target := strings.ReplaceAll(path, "{id}", "req_1")
			req := httptest.NewRequest(strings.ToUpper(method), target, nil)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if strings.Contains(rec.Body.String(), "no route") {
				t.Errorf("the spec documents %s %s, but the API does not serve it: %d %s", strings.ToUpper(method), path, rec.Code, rec.Body)
			}
		}
	}
}

func TestOpenAPIListParameters(t *testing.T) {
	s := loadSpec(t)
	op := s.operation(t, "GET", "/api/v1/requests")
	if op == nil {
		t.Fatal("the spec has no GET /api/v1/requests")
	}
	documented := map[string]bool{}
	for _, p := range s.parameters(t, op) {
		if p.In == "query" {
			documented[p.Name] = true
		}
	}
	for name := range listParams {
		if !documented[name] {
			t.Errorf("listRequests accepts %q, which GET /api/v1/requests does not document", name)
		}
	}
	for name := range documented {
		if !listParams[name] {
			t.Errorf("GET /api/v1/requests documents %q, which listRequests rejects", name)
		}
	}
}

// weirHeaders returns the X-Weir-* header names declared as constants in the
// non-test Go files of dir.
func weirHeaders(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err == nil && strings.HasPrefix(strings.ToLower(v), "x-weir-") && !strings.ContainsAny(v, " \n") {
				out = append(out, strings.ToLower(v))
			}
			return true
		})
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestOpenAPIGatewayHeaders(t *testing.T) {
	s := loadSpec(t)
	headers := weirHeaders(t, "../gateway")
	if !slices.Contains(headers, "x-weir-use-case") || !slices.Contains(headers, "x-weir-request-id") {
		t.Fatalf("found headers %q in ../gateway: update this test", headers)
	}
	for _, path := range []string{"/v1/chat/completions", "/v1/embeddings", "/v1/messages"} {
		op := s.operation(t, "POST", path)
		if op == nil {
			t.Errorf("the spec has no POST %s", path)
			continue
		}
		params := map[string]bool{}
		for _, p := range s.parameters(t, op) {
			if p.In == "header" {
				params[strings.ToLower(p.Name)] = true
			}
		}
		for _, h := range headers {
			if h == "x-weir-request-id" {
				if _, ok := op.Responses["200"].Headers[h]; !ok {
					t.Errorf("POST %s: the 200 response does not document the %s header", path, h)
				}
				continue
			}
			if !params[h] {
				t.Errorf("POST %s does not document the %s request header", path, h)
			}
		}
	}
}

type fakePrices struct{}

func (fakePrices) Entries(context.Context) ([]store.StoredPriceEntry, error) { return nil, nil }
func (fakePrices) History(context.Context, string) ([]store.StoredPriceEntry, error) {
	return nil, store.ErrNotFound
}
func (fakePrices) Put(context.Context, string, pricing.Entry, string) (store.StoredPriceEntry, error) {
	return store.StoredPriceEntry{}, nil
}
func (fakePrices) Delete(context.Context, string, string) (store.StoredPriceEntry, error) {
	return store.StoredPriceEntry{}, store.ErrNotFound
}
func (fakePrices) Reprice(context.Context, costing.RepriceOptions) (costing.RepriceResult, error) {
	return costing.RepriceResult{}, nil
}
func (fakePrices) Revisions(context.Context, store.RevisionQuery) ([]store.CostRevision, error) {
	return nil, nil
}

type fakeCommitments struct{}

func (fakeCommitments) Amortise(context.Context, costing.AmortiseQuery) (costing.CommitmentReport, error) {
	return costing.CommitmentReport{}, nil
}

type fakeReconciler struct{}

func (fakeReconciler) Reconcile(context.Context, string, io.Reader, time.Time, time.Time, float64) (reconcile.Report, error) {
	return reconcile.Report{}, nil
}

type fakeUseCases struct{}

func (fakeUseCases) List(context.Context) ([]value.Stored, error) { return nil, nil }
func (fakeUseCases) Get(context.Context, string) (value.Stored, error) {
	return value.Stored{}, store.ErrNotFound
}
func (fakeUseCases) History(context.Context, string) ([]value.Stored, error) {
	return nil, store.ErrNotFound
}
func (fakeUseCases) Put(context.Context, value.UseCase, int, string) (value.Stored, error) {
	return value.Stored{}, nil
}
func (fakeUseCases) NewVersion(context.Context, string, string, string, string) (value.Stored, error) {
	return value.Stored{}, nil
}
func (fakeUseCases) PutKPI(context.Context, string, string, string, json.RawMessage, time.Time, string) (store.KPIResult, bool, error) {
	return store.KPIResult{}, false, nil
}
func (fakeUseCases) Report(context.Context, string, value.ReportQuery) (value.UseCaseReport, error) {
	return value.UseCaseReport{}, nil
}
func (fakeUseCases) Compare(context.Context, string, string, string, time.Time, time.Time, float64) (value.Comparison, error) {
	return value.Comparison{}, nil
}
func (fakeUseCases) Portfolio(context.Context, time.Time, time.Time, string) (value.Portfolio, error) {
	return value.Portfolio{}, nil
}

type fakeLimits struct{}

func (fakeLimits) Get(context.Context, string) (limits.Limit, []store.LimitReset, error) {
	return limits.Limit{}, nil, store.ErrNotFound
}
func (fakeLimits) List() []limits.Limit                           { return nil }
func (fakeLimits) States(context.Context) ([]limits.State, error) { return nil, nil }
func (fakeLimits) Put(_ context.Context, l limits.Limit, _ string) (limits.Limit, error) {
	return l, nil
}
func (fakeLimits) Delete(context.Context, string, string) error        { return store.ErrNotFound }
func (fakeLimits) Reset(context.Context, string, string, string) error { return store.ErrNotFound }

type fakeForecaster struct{}

func (fakeForecaster) Forecast(context.Context, store.CostQuery, string) (forecast.Forecast, error) {
	return forecast.Forecast{}, nil
}

type fakeAccess struct{}

func (fakeAccess) Applications(context.Context) ([]access.ApplicationView, error) { return nil, nil }
func (fakeAccess) PutApplication(_ context.Context, a access.Application, _ string) (access.Application, error) {
	return a, nil
}
func (fakeAccess) CreateKey(context.Context, string, time.Time, string) (access.NewKey, error) {
	return access.NewKey{}, store.ErrNotFound
}
func (fakeAccess) RevokeKey(context.Context, string) error { return store.ErrNotFound }
