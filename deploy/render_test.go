// Package deploy holds no code: its tests render the Helm chart
// (deploy/helm/stoa) and the kustomize overlays (deploy/kustomize) with
// the real helm and kustomize, offline, and decode every object strictly
// into its Go type, since the schemas cannot be downloaded here.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// ciBin is where .ci/run installs helm and kustomize, outside the clone.
const ciBin = ".cache/stoa-ci/bin"

// tools names each tool's environment override and how to install it.
var tools = map[string]struct{ env, install string }{
	"helm": {"STOA_HELM",
		"GOFLAGS= GOBIN=$HOME/" + ciBin + " go install helm.sh/helm/v4/cmd/helm@v4.3.2"},
	"kustomize": {"STOA_KUSTOMIZE",
		"GOFLAGS= GOBIN=$HOME/" + ciBin + " go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2"},
}

// tool finds helm or kustomize: its STOA_* variable, PATH, then the CI
// cache; the test is skipped, saying how to install it, when it is absent.
func tool(t *testing.T, name string) string {
	t.Helper()
	how := tools[name]
	if p := os.Getenv(how.env); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ciBin, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s not found on PATH, in $HOME/%s or in %s: install it with `%s` (.ci/run does)", name, ciBin, how.env, how.install)
	return ""
}

// run runs a tool and returns its stdout; stderr goes into the error.
func run(bin string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// helm keeps caches and plugins under these; none may be the user's.
	tmp := os.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(tmp, "stoa-helm-cache"),
		"HELM_CONFIG_HOME="+filepath.Join(tmp, "stoa-helm-config"), "HELM_DATA_HOME="+filepath.Join(tmp, "stoa-helm-data"))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// object is one rendered object, decoded into its Go type.
type object struct {
	kind, name string
	v          any
}

// types gives the Go type of each apiVersion and kind the manifests may
// hold. HTTPRoute and ServiceMonitor are small structs of ours (types.go):
// their upstream modules need a newer Go or bring controller-runtime.
var types = map[string]func() any{
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                       func() any { return new(corev1.ServiceAccount) },
	"v1/PersistentVolumeClaim":                func() any { return new(corev1.PersistentVolumeClaim) },
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1/Ingress":            func() any { return new(networkingv1.Ingress) },
	"gateway.networking.k8s.io/v1/HTTPRoute":  func() any { return new(httpRoute) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(serviceMonitor) },
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll splits a YAML stream into documents and decodes each strictly:
// a duplicate key, an unknown kind, or a field its type lacks (a misspelt
// one) is an error naming the object.
func decodeAll(stream []byte) ([]object, error) {
	var objs []object
	for i, doc := range docSep.Split(string(stream), -1) {
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i, err)
		}
		if string(js) == "null" {
			continue // only comments, or empty
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %v", i, err)
		}
		newT, ok := types[tm.APIVersion+"/"+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("document %d: no Go type for apiVersion %q kind %q", i, tm.APIVersion, tm.Kind)
		}
		v := newT()
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return nil, fmt.Errorf("document %d (%s): %v", i, tm.Kind, err)
		}
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := json.Unmarshal(js, &meta); err != nil || meta.Metadata.Name == "" {
			return nil, fmt.Errorf("document %d (%s): no metadata.name", i, tm.Kind)
		}
		objs = append(objs, object{tm.Kind, meta.Metadata.Name, v})
	}
	return objs, nil
}

// TestStrictDecode shows the decoding the chart's and overlays' tests rely
// on refuses what a cluster's schema check would: a misspelt field at any
// depth, a field of the wrong type, an unknown kind, a duplicate key.
func TestStrictDecode(t *testing.T) {
	const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stoa
spec:
  selector: {matchLabels: {app: stoa}}
  template:
    metadata: {labels: {app: stoa}}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
        - name: stoa
          image: stoa
`
	tests := []struct {
		name, doc string
		wantErr   string // empty: decodes
	}{
		{"valid", deployment, ""},
		{"misspelt top field", strings.Replace(deployment, "terminationGracePeriodSeconds", "terminationGracePeriodSecond", 1), `unknown field "terminationGracePeriodSecond"`},
		{"misspelt deep field", deployment + "          readinesProbe: {}\n", `unknown field "readinesProbe"`},
		{"wrong type", strings.Replace(deployment, "20", `"20s"`, 1), "cannot unmarshal string"},
		{"duplicate key", deployment + "          image: other\n", `"image" already set`},
		{"unknown kind", "apiVersion: v1\nkind: Sevrice\nmetadata: {name: a}\n", `no Go type for apiVersion "v1" kind "Sevrice"`},
		{"ServiceMonitor misspelt", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec:\n  endpoints: [{port: admin, intervall: 30s}]\n", `unknown field "intervall"`},
		{"HTTPRoute misspelt", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a}\nspec:\n  parentRef: [{name: gw}]\n", `unknown field "parentRef"`},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "no metadata.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll([]byte("---\n" + tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("decode: %v, want no error", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("decode: no error, want one with %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("decode: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// one returns the only object of type T, failing when there is not
// exactly one.
func one[T any](t *testing.T, objs []object) *T {
	t.Helper()
	var found []*T
	for _, o := range objs {
		if v, ok := o.v.(*T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of type %T, want 1", len(found), found)
	}
	return found[0]
}

// kinds lists the objects as kind/name, sorted, for messages and checks.
func kinds(objs []object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.kind+"/"+o.name)
	}
	sort.Strings(ks)
	return ks
}
