{{/* Names */}}
{{- define "tcpstate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tcpstate.fullname" -}}
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

{{- define "tcpstate.agent.fullname" -}}{{ include "tcpstate.fullname" . | trunc 57 | trimSuffix "-" }}-agent{{- end -}}
{{- define "tcpstate.collector.fullname" -}}{{ include "tcpstate.fullname" . | trunc 53 | trimSuffix "-" }}-collector{{- end -}}
{{- define "tcpstate.nats.fullname" -}}{{ include "tcpstate.fullname" . | trunc 58 | trimSuffix "-" }}-nats{{- end -}}

{{- define "tcpstate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "tcpstate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tcpstate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "agent") */}}
{{- define "tcpstate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tcpstate.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tcpstate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "tcpstate.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{ default (include "tcpstate.agent.fullname" .) .Values.agent.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.agent.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{- define "tcpstate.collector.serviceAccountName" -}}
{{- if .Values.collector.serviceAccount.create -}}
{{ default (include "tcpstate.collector.fullname" .) .Values.collector.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.collector.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/* The NATS servers agent and collector connect to: the bundled NATS's Service, or nats.url. */}}
{{- define "tcpstate.natsUrl" -}}
{{- if .Values.nats.enabled -}}
nats://{{ include "tcpstate.nats.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.nats.port }}
{{- else if .Values.nats.url -}}
{{ .Values.nats.url }}
{{- else -}}
{{ fail "nats.url is required when nats.enabled is false (the bundled NATS is off): set nats.url to your NATS servers, e.g. --set nats.url=nats://nats.nats.svc:4222" }}
{{- end -}}
{{- end -}}

{{- define "tcpstate.natsCredentialsSecret" -}}
{{- if .Values.nats.credentials.existingSecret -}}
{{ .Values.nats.credentials.existingSecret }}
{{- else -}}
{{ include "tcpstate.fullname" . }}-nats-credentials
{{- end -}}
{{- end -}}

{{/* Checks values that the schema cannot relate to each other. */}}
{{- define "tcpstate.validate" -}}
{{- $_ := include "tcpstate.natsUrl" . -}}
{{- $c := .Values.nats.credentials -}}
{{- if and (ne $c.type "none") .Values.nats.enabled -}}
{{- fail (printf "nats.credentials.type is %q but nats.enabled is true: the bundled NATS runs without authentication; credentials are for your own NATS (nats.enabled=false, nats.url=…)" $c.type) -}}
{{- end -}}
{{- if and (ne $c.type "none") (not $c.existingSecret) -}}
{{- if and (eq $c.type "password") (or (not $c.user) (not $c.password)) -}}
{{- fail "nats.credentials.type is \"password\": set nats.credentials.user and nats.credentials.password, or nats.credentials.existingSecret" -}}
{{- end -}}
{{- if and (eq $c.type "token") (not $c.token) -}}
{{- fail "nats.credentials.type is \"token\": set nats.credentials.token or nats.credentials.existingSecret" -}}
{{- end -}}
{{- if and (eq $c.type "creds") (not $c.creds) -}}
{{- fail "nats.credentials.type is \"creds\": set nats.credentials.creds (the .creds file's content) or nats.credentials.existingSecret" -}}
{{- end -}}
{{- if and (eq $c.type "nkey") (not $c.nkey) -}}
{{- fail "nats.credentials.type is \"nkey\": set nats.credentials.nkey (the seed) or nats.credentials.existingSecret" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.collector.podDisruptionBudget.enabled (kindIs "float64" .Values.collector.podDisruptionBudget.minAvailable) (ge (int .Values.collector.podDisruptionBudget.minAvailable) (int .Values.collector.replicas)) -}}
{{- fail (printf "collector.podDisruptionBudget.minAvailable (%v) is not less than collector.replicas (%v): no collector could ever be evicted (raise replicas or lower minAvailable)" .Values.collector.podDisruptionBudget.minAvailable .Values.collector.replicas) -}}
{{- end -}}
{{- end -}}

{{/* NATS connection env and volume mounts shared by agent and collector. */}}
{{- define "tcpstate.natsEnv" -}}
- name: NATS_URL
  value: {{ include "tcpstate.natsUrl" . | quote }}
{{- $c := .Values.nats.credentials -}}
{{- if eq $c.type "password" }}
- name: NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "tcpstate.natsCredentialsSecret" . }}
      key: user
- name: NATS_PASSWORD_FILE
  value: /etc/tcpstate/nats/password
{{- else if eq $c.type "token" }}
- name: NATS_TOKEN_FILE
  value: /etc/tcpstate/nats/token
{{- else if eq $c.type "creds" }}
- name: NATS_CREDS
  value: /etc/tcpstate/nats/creds
{{- else if eq $c.type "nkey" }}
- name: NATS_NKEY
  value: /etc/tcpstate/nats/nkey
{{- end }}
{{- if .Values.nats.tls.existingSecret }}
- name: NATS_TLS_CA
  value: /etc/tcpstate/nats-tls/ca.crt
{{- if .Values.nats.tls.clientCert }}
- name: NATS_TLS_CERT
  value: /etc/tcpstate/nats-tls/tls.crt
- name: NATS_TLS_KEY
  value: /etc/tcpstate/nats-tls/tls.key
{{- end }}
{{- end }}
{{- end -}}

{{- define "tcpstate.natsVolumeMounts" -}}
{{- if ne .Values.nats.credentials.type "none" }}
- name: nats-credentials
  mountPath: /etc/tcpstate/nats
  readOnly: true
{{- end }}
{{- if .Values.nats.tls.existingSecret }}
- name: nats-tls
  mountPath: /etc/tcpstate/nats-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "tcpstate.natsVolumes" -}}
{{- if ne .Values.nats.credentials.type "none" }}
- name: nats-credentials
  secret:
    secretName: {{ include "tcpstate.natsCredentialsSecret" . }}
    defaultMode: 0400
{{- end }}
{{- if .Values.nats.tls.existingSecret }}
- name: nats-tls
  secret:
    secretName: {{ .Values.nats.tls.existingSecret }}
    defaultMode: 0400
{{- end }}
{{- end -}}

{{/* The alert rules: chart defaults, each rule merged with alerts.rules. */}}
{{- define "tcpstate.ruleDefaults" -}}
TimeWaitBuildup: {enabled: true, severity: warning, for: 2m, holdDown: 2m, floor: 500, factor: 4, baselineWindow: 1h, runbookUrl: "https://github.com/tcpstate/tcpstate/blob/main/helm/tcpstate/README.md#timewaitbuildup", scope: {}}
SynRecvBuildup: {enabled: true, severity: critical, for: 1m, holdDown: 2m, floor: 50, factor: 4, baselineWindow: 1h, runbookUrl: "https://github.com/tcpstate/tcpstate/blob/main/helm/tcpstate/README.md#synrecvbuildup", scope: {}}
EphemeralPortPressure: {enabled: true, severity: critical, for: 2m, holdDown: 2m, ratio: 0.5, portRange: "32768-60999", runbookUrl: "https://github.com/tcpstate/tcpstate/blob/main/helm/tcpstate/README.md#ephemeralportpressure", scope: {}}
ConnectionChurnSpike: {enabled: true, severity: warning, for: 2m, holdDown: 2m, floor: 100, factor: 5, baselineWindow: 1h, runbookUrl: "https://github.com/tcpstate/tcpstate/blob/main/helm/tcpstate/README.md#connectionchurnspike", scope: {}}
CloseWaitLeak: {enabled: true, severity: warning, for: 10m, holdDown: 2m, floor: 20, runbookUrl: "https://github.com/tcpstate/tcpstate/blob/main/helm/tcpstate/README.md#closewaitleak", scope: {}}
{{- end -}}

{{- define "tcpstate.rules" -}}
{{- $rules := include "tcpstate.ruleDefaults" . | fromYaml -}}
{{- range $name, $rule := .Values.alerts.rules -}}
{{- if not (hasKey $rules $name) -}}
{{- fail (printf "alerts.rules.%s is not a known rule: use TimeWaitBuildup, SynRecvBuildup, EphemeralPortPressure, ConnectionChurnSpike or CloseWaitLeak" $name) -}}
{{- end -}}
{{- $_ := set $rules $name (mergeOverwrite (deepCopy (get $rules $name)) (default (dict) $rule)) -}}
{{- end -}}
{{- toYaml (dict "rules" $rules) -}}
{{- end -}}
