package deploy

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/stoahttp/stoa/internal/config"
)

// stoaUID is the image's user (distroless's nonroot).
const stoaUID = 65532

// configPath is where the manifests mount stoa.toml and tell stoa to read it.
const configPath = "/etc/stoa/stoa.toml"

// site is what a rendered set of objects serves, as the checks see it.
type site struct {
	cfg   *config.Config
	drain time.Duration
	pod   *corev1.PodSpec
	stoa  *corev1.Container
}

// checkSet checks the properties every rendering must have, whatever the
// values or overlay: a Deployment whose pods run stoa locked down, probed
// on the admin port, given time to drain, reading the ConfigMap's stoa.toml
// (valid for stoa's own parser); a Service, a PodDisruptionBudget and an
// HPA (when there is one) that reach those pods.
func checkSet(t *testing.T, objs []object) site {
	t.Helper()
	d := one[appsv1.Deployment](t, objs)
	pod := &d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("Deployment %s: %d containers, want 1", d.Name, len(pod.Containers))
	}
	c := &pod.Containers[0]
	s := site{pod: pod, stoa: c}
	s.cfg, s.drain = configOf(t, objs, pod, c)

	checkSecurity(t, pod, c)
	checkProbes(t, c, s.cfg)
	// drain_delay, then shutdown_timeout, must both fit before SIGKILL.
	need := s.drain + s.cfg.ShutdownTimeout.Duration
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= need {
		t.Errorf("terminationGracePeriodSeconds = %v, want more than drain_delay %v + shutdown_timeout %v", deref(g), s.drain, s.cfg.ShutdownTimeout.Duration)
	}
	// Endpoints drop a terminating pod at once, but a load balancer that only
	// probes must see /readyz fail before the drain ends.
	if r := c.ReadinessProbe; r != nil && time.Duration(r.PeriodSeconds*r.FailureThreshold)*time.Second >= s.drain {
		t.Errorf("readiness probe: periodSeconds %d × failureThreshold %d, want less than drain_delay %v", r.PeriodSeconds, r.FailureThreshold, s.drain)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources = %v, want cpu and memory requests and a memory limit", c.Resources)
	}
	if c.Lifecycle != nil {
		t.Errorf("lifecycle = %+v, want no preStop hook: drain_delay does its work", c.Lifecycle)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken: want false, stoa never talks to the API server")
	}
	// Kubernetes would set STOA_SERVICE_HOST, STOA_PORT... for a Service
	// named stoa: names stoa reads settings from (STOA_*).
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks: want false, so no STOA_* variable comes from a Service's name")
	}
	checkMemLimit(t, c)
	if dir := s.cfg.CacheDir; dir != "" && mountOf(c, dir) == nil {
		t.Errorf("cache_dir %q is not a mounted volume (the root file system is read-only)", dir)
	}

	podLabels := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("Deployment selector %v does not select its pods %v (%v)", d.Spec.Selector, podLabels, err)
	}
	var siteSvc int
	for _, o := range objs {
		switch v := o.v.(type) {
		case *corev1.Service:
			if !labels.SelectorFromSet(v.Spec.Selector).Matches(podLabels) || len(v.Spec.Selector) == 0 {
				t.Errorf("Service %s selector %v does not select the pods %v", v.Name, v.Spec.Selector, podLabels)
			}
			for _, p := range v.Spec.Ports {
				if p.TargetPort.String() == "http" {
					siteSvc++
					if p.Port != 80 {
						t.Errorf("Service %s: port %d to http, want 80", v.Name, p.Port)
					}
				}
			}
		case *policyv1.PodDisruptionBudget:
			if sel, err := metav1.LabelSelectorAsSelector(v.Spec.Selector); err != nil || !sel.Matches(podLabels) {
				t.Errorf("PodDisruptionBudget %s selector %v does not select the pods", v.Name, v.Spec.Selector)
			}
			if u := v.Spec.MaxUnavailable; u == nil || u.String() != "1" || v.Spec.MinAvailable != nil {
				t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, minAvailable %v, want maxUnavailable 1", v.Name, u, v.Spec.MinAvailable)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			if ref := v.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name {
				t.Errorf("HPA %s scales %s/%s, want Deployment/%s", v.Name, ref.Kind, ref.Name, d.Name)
			}
			checkHPA(t, v)
			if d.Spec.Replicas != nil {
				t.Errorf("Deployment has replicas %d beside an HPA: each apply would reset the HPA's count", *d.Spec.Replicas)
			}
		}
	}
	if siteSvc != 1 {
		t.Errorf("%d Service ports send to the http port, want 1", siteSvc)
	}
	one[policyv1.PodDisruptionBudget](t, objs)
	return s
}

// configOf finds the ConfigMap the pod mounts at configPath's directory,
// checks stoa is told to read it, and parses it with stoa's own parser.
func configOf(t *testing.T, objs []object, pod *corev1.PodSpec, c *corev1.Container) (*config.Config, time.Duration) {
	t.Helper()
	dir, file := configPath[:strings.LastIndex(configPath, "/")], configPath[strings.LastIndex(configPath, "/")+1:]
	if got, want := strings.Join(c.Args, " "), "serve --config "+configPath; got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
	m := mountOf(c, dir)
	if m == nil || !m.ReadOnly {
		t.Fatalf("%s: not mounted read-only (mounts %v)", dir, c.VolumeMounts)
	}
	vol := volumeOf(pod, m.Name)
	if vol == nil || vol.ConfigMap == nil {
		t.Fatalf("volume %s: not a ConfigMap", m.Name)
	}
	var data string
	for _, o := range objs {
		if cm, ok := o.v.(*corev1.ConfigMap); ok && cm.Name == vol.ConfigMap.Name {
			data = cm.Data[file]
		}
	}
	if data == "" {
		t.Fatalf("ConfigMap %s with key %s: not rendered", vol.ConfigMap.Name, file)
	}
	return parseConfig(t, data)
}

// parseConfig parses a rendered stoa.toml with stoa's own parser, so an
// unknown key or a bad value fails as it would at start, and returns its
// drain_delay.
func parseConfig(t *testing.T, data string) (*config.Config, time.Duration) {
	t.Helper()
	cfg, err := config.Parse("stoa.toml", []byte(data))
	if err != nil {
		t.Fatalf("stoa.toml does not parse as stoa's config: %v\n%s", err, data)
	}
	if drain := cfg.DrainDelay.Duration; drain <= 0 {
		t.Errorf("stoa.toml: drain_delay = %v, want a duration above 0", drain)
	}
	return cfg, cfg.DrainDelay.Duration
}

// checkSecurity checks what a restricted Pod Security Standard asks, plus
// the image's user and a read-only root file system.
func checkSecurity(t *testing.T, pod *corev1.PodSpec, c *corev1.Container) {
	t.Helper()
	ps := pod.SecurityContext
	if ps == nil || !isTrue(ps.RunAsNonRoot) || deref(ps.RunAsUser) != stoaUID ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot, runAsUser %d, seccomp RuntimeDefault", ps, stoaUID)
	}
	cs := c.SecurityContext
	if cs == nil {
		t.Fatal("container securityContext: missing")
	}
	if !isTrue(cs.RunAsNonRoot) || deref(cs.RunAsUser) != stoaUID || !isTrue(cs.ReadOnlyRootFilesystem) ||
		cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.SeccompProfile == nil || cs.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext = %+v, want runAsNonRoot, runAsUser %d, readOnlyRootFilesystem, no privilege escalation, seccomp RuntimeDefault", cs, stoaUID)
	}
	if cs.Capabilities == nil || len(cs.Capabilities.Add) != 0 || fmt.Sprint(cs.Capabilities.Drop) != "[ALL]" {
		t.Errorf("capabilities = %+v, want drop [ALL] and none added", cs.Capabilities)
	}
}

// checkProbes checks liveness asks /healthz and readiness /readyz, both on
// the container port stoa.toml's admin address listens on, and that the
// http port is the one it serves on.
func checkProbes(t *testing.T, c *corev1.Container, cfg *config.Config) {
	t.Helper()
	adminPort := portOf(t, cfg.Admin)
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet", p.name)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || containerPort(c, g.Port.String()) != adminPort {
			t.Errorf("%s: GET %s on port %s (%d), want %s on the admin port %d", p.name, g.Path, g.Port.String(), containerPort(c, g.Port.String()), p.path, adminPort)
		}
	}
	if len(cfg.Listen) != 1 || containerPort(c, "http") != portOf(t, cfg.Listen[0]) {
		t.Errorf("container port http = %d, stoa.toml listen = %v: want one address on that port", containerPort(c, "http"), cfg.Listen)
	}
}

// checkS3Env checks the S3 credentials come from the Secret, never from a
// literal value, and the endpoint and region are set.
func checkS3Env(t *testing.T, c *corev1.Container, secret, endpoint, region string) {
	t.Helper()
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		e := env[name]
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != name {
			t.Errorf("env %s = %+v, want it from key %s of Secret %s", name, e, name, secret)
		}
	}
	if got := env["AWS_ENDPOINT_URL"].Value; got != endpoint {
		t.Errorf("AWS_ENDPOINT_URL = %q, want %q", got, endpoint)
	}
	if got := env["AWS_REGION"].Value; got != region {
		t.Errorf("AWS_REGION = %q, want %q", got, region)
	}
}

// checkHPA checks the autoscaler's defaults: never below two replicas (one
// could not be disrupted without an outage), up to 10, on CPU at 70%.
func checkHPA(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler) {
	t.Helper()
	if deref(h.Spec.MinReplicas) != 2 || h.Spec.MaxReplicas != 10 || len(h.Spec.Metrics) != 1 {
		t.Errorf("HPA %s: %v to %d replicas on %d metrics, want 2 to 10 on CPU", h.Name, deref(h.Spec.MinReplicas), h.Spec.MaxReplicas, len(h.Spec.Metrics))
		return
	}
	m := h.Spec.Metrics[0]
	if m.Resource == nil || m.Resource.Name != corev1.ResourceCPU || deref(m.Resource.Target.AverageUtilization) != 70 {
		t.Errorf("HPA %s metric = %+v, want CPU at 70%% utilization", h.Name, m)
	}
}

// checkMemLimit checks the Go runtime is told the container's memory limit.
func checkMemLimit(t *testing.T, c *corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil || e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
				t.Errorf("GOMEMLIMIT = %+v, want it from limits.memory", e)
			}
			return
		}
	}
	t.Error("no GOMEMLIMIT: the Go heap would not know the container's memory limit")
}

func mountOf(c *corev1.Container, path string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if m.MountPath == path {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volumeOf(pod *corev1.PodSpec, name string) *corev1.Volume {
	for i, v := range pod.Volumes {
		if v.Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// containerPort resolves a port given by name or number.
func containerPort(c *corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
			return p.ContainerPort
		}
	}
	return -1
}

func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(port)
	if err != nil || err2 != nil {
		t.Fatalf("address %q: no port", addr)
	}
	return int32(n)
}

func isTrue(b *bool) bool { return b != nil && *b }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
