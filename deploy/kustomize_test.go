package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestKustomizeBuild builds each overlay, as `kubectl apply -k` would,
// decodes every object strictly and checks what each promises.
func TestKustomizeBuild(t *testing.T) {
	kustomize := tool(t, "kustomize")
	base := []string{"Deployment/stoa", "HorizontalPodAutoscaler/stoa", "PodDisruptionBudget/stoa", "Service/stoa", "ServiceAccount/stoa"}
	tests := []struct {
		overlay string
		kinds   []string
		check   func(t *testing.T, s site)
	}{
		{"s3", append(base, "ConfigMap/stoa-config"), func(t *testing.T, s site) {
			if root := s.cfg.Sites[0].Root; root != "s3://my-bucket/site" {
				t.Errorf("root = %q, want the overlay's bucket", root)
			}
			checkS3Env(t, s.stoa, "stoa-s3", "http://minio.storage.svc:9000", "us-east-1")
		}},
		{"volume", append(base, "ConfigMap/stoa-config", "PersistentVolumeClaim/stoa-site"), func(t *testing.T, s site) {
			checkSiteVolume(t, s, "stoa-site")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.overlay, func(t *testing.T) {
			out, err := run(kustomize, "build", filepath.Join("kustomize", "overlays", tt.overlay))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeAll(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := kinds(objs)
			// The generated ConfigMap's name ends in a hash of its content.
			for i, k := range got {
				if prefix := "ConfigMap/stoa-config-"; strings.HasPrefix(k, prefix) {
					got[i] = strings.TrimSuffix(prefix, "-")
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.kinds))
			if !slices.Equal(got, want) {
				t.Fatalf("objects = %v, want %v", got, want)
			}
			tt.check(t, checkSet(t, objs))
		})
	}
}

// TestKustomizeConfigRolls checks a changed stoa.toml rolls the pods: the
// generated ConfigMap gets a new name, which the Deployment's pod template
// follows.
func TestKustomizeConfigRolls(t *testing.T) {
	kustomize := tool(t, "kustomize")
	tree := t.TempDir()
	if err := os.CopyFS(tree, os.DirFS("kustomize")); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(tree, "overlays", "s3")
	configMapOf := func() string {
		t.Helper()
		out, err := run(kustomize, "build", overlay)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeAll(out)
		if err != nil {
			t.Fatal(err)
		}
		cm := one[corev1.ConfigMap](t, objs)
		d := one[appsv1.Deployment](t, objs)
		var mounted string
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil {
				mounted = v.ConfigMap.Name
			}
		}
		if mounted != cm.Name {
			t.Fatalf("the pods mount ConfigMap %q, the overlay makes %q", mounted, cm.Name)
		}
		return cm.Name
	}
	before := configMapOf()
	file := filepath.Join(overlay, "stoa.toml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `cache_size = "128MiB"`, `cache_size = "64MiB"`, 1)
	if edited == string(data) {
		t.Fatal(`overlays/s3/stoa.toml has no cache_size = "128MiB" line to change`)
	}
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if after := configMapOf(); after == before {
		t.Errorf("stoa.toml changed but the ConfigMap is still %s: the pods would not roll", before)
	}
}
