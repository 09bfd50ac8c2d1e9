package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

const chart = "helm/stoa"

// helmTemplate renders the chart as `helm install site` would, with the
// values files (relative to the chart) and --set pairs given.
func helmTemplate(helm string, files []string, set ...string) ([]byte, error) {
	args := []string{"template", "site", chart}
	for _, f := range files {
		args = append(args, "-f", chart+"/"+f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return run(helm, args...)
}

// TestHelmLint runs helm lint --strict over the chart with each values
// file the README and the other tests use.
func TestHelmLint(t *testing.T) {
	helm := tool(t, "helm")
	for _, values := range [][]string{nil, {"values-s3.yaml"}, {"values-volume.yaml"}, {"ci/all-on.yaml"}} {
		args := []string{"lint", "--strict", chart}
		for _, f := range values {
			args = append(args, "-f", chart+"/"+f)
		}
		if out, err := run(helm, args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// TestHelmTemplate renders the chart with the default values, the S3 and
// the volume values, and every optional part on, decodes every object
// strictly, and checks what each rendering promises.
func TestHelmTemplate(t *testing.T) {
	helm := tool(t, "helm")
	base := []string{"ConfigMap/site-stoa", "Deployment/site-stoa", "HorizontalPodAutoscaler/site-stoa",
		"PodDisruptionBudget/site-stoa", "Service/site-stoa", "ServiceAccount/site-stoa"}
	tests := []struct {
		name   string
		values []string
		kinds  []string
		check  func(t *testing.T, objs []object, s site)
	}{
		{"default", nil, base, func(t *testing.T, objs []object, s site) {
			// The image's own /srv: no volume over it.
			if root := s.cfg.Sites[0].Root; root != "/srv" || mountOf(s.stoa, "/srv") != nil {
				t.Errorf("root %q, /srv mount %v: want the image's /srv", root, mountOf(s.stoa, "/srv"))
			}
		}},
		{"s3", []string{"values-s3.yaml"}, base, func(t *testing.T, objs []object, s site) {
			if root := s.cfg.Sites[0].Root; root != "s3://my-bucket/site" {
				t.Errorf("root = %q, want the values' bucket", root)
			}
			checkS3Env(t, s.stoa, "stoa-s3", "http://minio.storage.svc:9000", "us-east-1")
		}},
		{"volume", []string{"values-volume.yaml"}, base, func(t *testing.T, objs []object, s site) {
			checkSiteVolume(t, s, "site")
		}},
		{"all on", []string{"ci/all-on.yaml"}, []string{"ConfigMap/site-stoa", "Deployment/site-stoa",
			"HTTPRoute/site-stoa", "Ingress/site-stoa", "PodDisruptionBudget/site-stoa", "Service/site-stoa",
			"Service/site-stoa-admin", "ServiceAccount/site-stoa", "ServiceMonitor/site-stoa"}, checkAllOn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := helmTemplate(helm, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeAll(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := kinds(objs); !slices.Equal(got, tt.kinds) {
				t.Fatalf("objects = %v, want %v", got, tt.kinds)
			}
			s := checkSet(t, objs)
			if want := "5s"; s.drain.String() != want {
				t.Errorf("drain_delay = %v, want the chart's %s", s.drain, want)
			}
			tt.check(t, objs, s)
		})
	}
}

// checkAllOn checks the optional parts reach the site: Ingress and
// HTTPRoute send to the site's Service, the ServiceMonitor scrapes the
// admin port through a Service of its own, and the values' extra TOML
// lines are in stoa.toml.
func checkAllOn(t *testing.T, objs []object, s site) {
	t.Helper()
	var siteSvc, adminSvc *corev1.Service
	for _, o := range objs {
		if v, ok := o.v.(*corev1.Service); ok {
			if strings.HasSuffix(v.Name, "-admin") {
				adminSvc = v
			} else {
				siteSvc = v
			}
		}
	}
	d := one[appsv1.Deployment](t, objs)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3 (autoscaling off)", deref(d.Spec.Replicas))
	}
	if c := s.cfg.Sites[0]; !c.ReleaseHeader || c.SkewWindow.String() != "2h0m0s" || s.cfg.IdleTimeout.String() != "1m0s" || len(s.cfg.TrustedProxies) != 2 {
		t.Errorf("stoa.toml lacks the values' extra lines: release_header %v, skew_window %v, idle_timeout %v, trusted_proxies %v",
			c.ReleaseHeader, c.SkewWindow, s.cfg.IdleTimeout, s.cfg.TrustedProxies)
	}
	checkS3Env(t, s.stoa, "stoa-s3", "http://minio.storage.svc:9000", "eu-west-1")

	ing := one[networkingv1.Ingress](t, objs)
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			if b := p.Backend.Service; b == nil || b.Name != siteSvc.Name || b.Port.Name != "http" {
				t.Errorf("Ingress path %s goes to %+v, want Service %s port http", p.Path, b, siteSvc.Name)
			}
		}
	}
	route := one[httpRoute](t, objs)
	if len(route.Spec.ParentRefs) != 1 || route.Spec.ParentRefs[0].Name != "shared-gateway" {
		t.Errorf("HTTPRoute parentRefs = %+v, want the values' gateway", route.Spec.ParentRefs)
	}
	for _, r := range route.Spec.Rules {
		for _, b := range r.BackendRefs {
			if b.Name != siteSvc.Name || deref(b.Port) != siteSvc.Spec.Ports[0].Port {
				t.Errorf("HTTPRoute backend %s:%d, want %s:%d", b.Name, deref(b.Port), siteSvc.Name, siteSvc.Spec.Ports[0].Port)
			}
		}
	}

	sm := one[serviceMonitor](t, objs)
	if adminSvc == nil {
		t.Fatal("no admin Service for the ServiceMonitor")
	}
	if !labelsMatch(sm.Spec.Selector.MatchLabels, adminSvc.Labels) || labelsMatch(sm.Spec.Selector.MatchLabels, siteSvc.Labels) {
		t.Errorf("ServiceMonitor selects %v: want the admin Service (%v) and not the site's (%v)", sm.Spec.Selector.MatchLabels, adminSvc.Labels, siteSvc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints = %+v, want /metrics on port admin", sm.Spec.Endpoints)
	}
	if len(adminSvc.Spec.Ports) != 1 || adminSvc.Spec.Ports[0].Name != "admin" || containerPort(s.stoa, adminSvc.Spec.Ports[0].TargetPort.String()) != portOf(t, s.cfg.Admin) {
		t.Errorf("admin Service ports = %+v, want one named admin to the admin port", adminSvc.Spec.Ports)
	}
	for _, p := range siteSvc.Spec.Ports {
		if p.TargetPort.String() == "admin" {
			t.Errorf("the site's Service exposes the admin port")
		}
	}
}

// checkSiteVolume checks the site is a volume mounted read-only at /srv,
// from the claim named, and stoa.toml serves /srv.
func checkSiteVolume(t *testing.T, s site, claim string) {
	t.Helper()
	m := mountOf(s.stoa, "/srv")
	if m == nil || !m.ReadOnly {
		t.Fatalf("/srv: not mounted read-only (%+v)", m)
	}
	if v := volumeOf(s.pod, m.Name); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claim {
		t.Errorf("volume %s = %+v, want claim %s", m.Name, v, claim)
	}
	if root := s.cfg.Sites[0].Root; root != "/srv" {
		t.Errorf("root = %q, want /srv", root)
	}
}

func labelsMatch(sel, set map[string]string) bool {
	for k, v := range sel {
		if set[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// TestHelmConfigChecksum checks a changed stoa.toml rolls the pods: the
// pod template's checksum/config is the SHA-256 of the ConfigMap's
// stoa.toml, so it changes with any value that changes the file, and only
// then.
func TestHelmConfigChecksum(t *testing.T) {
	helm := tool(t, "helm")
	render := func(set ...string) (sum, file string) {
		t.Helper()
		out, err := helmTemplate(helm, nil, set...)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeAll(out)
		if err != nil {
			t.Fatal(err)
		}
		d := one[appsv1.Deployment](t, objs)
		return d.Spec.Template.Annotations["checksum/config"], one[corev1.ConfigMap](t, objs).Data["stoa.toml"]
	}
	sum, file := render()
	h := sha256.Sum256([]byte(file))
	if sum != hex.EncodeToString(h[:]) {
		t.Errorf("checksum/config = %q, want the SHA-256 of the ConfigMap's stoa.toml %x", sum, h)
	}
	if again, _ := render("replicaCount=5"); again != sum {
		t.Errorf("checksum/config changed with a value stoa.toml does not hold: %s, then %s", sum, again)
	}
	for _, set := range []string{"stoa.cacheSize=64MiB", "site.extra=index = \"home.html\"", "stoa.shutdownTimeoutSeconds=20"} {
		if changed, _ := render(set); changed == sum {
			t.Errorf("--set %s: checksum/config unchanged, so the pods would keep the old stoa.toml", set)
		}
	}
}

// TestHelmRefusals checks values that cannot work fail the rendering,
// saying what to change, rather than render a broken site.
func TestHelmRefusals(t *testing.T) {
	helm := tool(t, "helm")
	tests := []struct {
		name    string
		set     []string
		wantErr string
	}{
		{"s3 root and a volume", []string{"site.root=s3://b/p", "site.volume.emptyDir.medium=Memory"}, "keep one"},
		{"route without a gateway", []string{"httpRoute.enabled=true"}, "httpRoute.parentRefs is empty"},
		{"no root", []string{"site.root="}, "site.root is required"},
		// values.schema.json lists every key: a misspelt one is refused, not ignored.
		{"misspelt value", []string{"s3.endpont=http://minio:9000"}, "'endpont' not allowed"},
		{"misspelt top value", []string{"replicas=3"}, "'replicas' not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmTemplate(helm, nil, tt.set...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("helm template --set %v: error %v, want one with %q", tt.set, err, tt.wantErr)
			}
		})
	}
}
