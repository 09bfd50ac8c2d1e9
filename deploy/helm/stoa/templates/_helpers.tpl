{{/* The release's name, trimmed to the 63 characters of a DNS label. */}}
{{- define "stoa.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "stoa.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stoa.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stoa.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "stoa.labels" -}}
{{ include "stoa.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "stoa.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "stoa.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* stoa.toml: the one place the chart's values become stoa's settings.
The checksum/config annotation is the SHA-256 of this text, which is the
ConfigMap's stoa.toml byte for byte. */}}
{{- define "stoa.config" -}}
{{- printf "%s\n" (include "stoa.configBody" . | trim) -}}
{{- end -}}

{{- define "stoa.configBody" -}}
# Rendered by the stoa Helm chart.
listen = [":{{ .Values.ports.http }}"]
admin = ":{{ .Values.ports.admin }}"
access_log = {{ .Values.stoa.accessLog | quote }}
log_format = {{ .Values.stoa.logFormat | quote }}
drain_delay = "{{ int .Values.stoa.drainDelaySeconds }}s"
shutdown_timeout = "{{ int .Values.stoa.shutdownTimeoutSeconds }}s"
cache_size = {{ .Values.stoa.cacheSize | quote }}
cache_dir = "/var/cache/stoa"
cache_dir_size = {{ .Values.stoa.cacheDirSize | quote }}
{{- with .Values.stoa.trustedProxies }}
trusted_proxies = [{{ range $i, $p := . }}{{ if $i }}, {{ end }}{{ $p | quote }}{{ end }}]
{{- end }}
{{- with .Values.stoa.extra }}
{{ . | trim }}
{{- end }}

[[site]]
root = {{ required "site.root is required: a path under /srv, or s3://BUCKET/PREFIX" .Values.site.root | quote }}
{{- with .Values.site.extra }}
{{ . | trim }}
{{- end }}
{{ end -}}
