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
{{- $_ = include "tcpstate.alertSinksValidate" . -}}
{{- $_ = include "tcpstate.durationBounds" . -}}
{{- $c := .Values.nats.credentials -}}
{{- if and (ne $c.type "none") .Values.nats.enabled -}}
{{- fail (printf "nats.credentials.type is %q but nats.enabled is true: the bundled NATS has its own users (nats.auth); credentials are for your own NATS (nats.enabled=false, nats.url=…)" $c.type) -}}
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
{{- $a := .Values.agent -}}
{{- if and .Values.nats.enabled $a.natsNodeCredentials.enabled (ne $a.natsNodeCredentials.type "nkey") -}}
{{- fail (printf "agent.natsNodeCredentials.type is %q but the bundled NATS (nats.enabled) takes NKey users only: use type nkey with nats.auth.agentNodeKeys, or your own NATS in operator mode for creds" $a.natsNodeCredentials.type) -}}
{{- end -}}
{{- if and .Values.nats.enabled $a.natsNodeCredentials.enabled (not .Values.nats.auth.agentNodeKeys) -}}
{{- fail "agent.natsNodeCredentials.enabled with the bundled NATS needs nats.auth.agentNodeKeys (node name → the public NKey of its seed): no agent could connect" -}}
{{- end -}}
{{- if and .Values.nats.enabled .Values.nats.auth.agentNodeKeys (not $a.natsNodeCredentials.enabled) -}}
{{- fail "nats.auth.agentNodeKeys is set but agent.natsNodeCredentials.enabled is false: the agents would log in with the shared agent user, which per-node identities replace" -}}
{{- end -}}
{{- if and .Values.nats.enabled .Values.nats.tls.clientCert -}}
{{- fail "nats.tls.clientCert is for your own NATS (nats.enabled=false): the bundled NATS authenticates agent and collector by their users" -}}
{{- end -}}
{{- if and .Values.monitoring.podMonitor.enabled (not $a.exposeMetrics) -}}
{{- fail "monitoring.podMonitor.enabled needs agent.exposeMetrics=true: the agents' /metrics answers on 127.0.0.1 only, which Prometheus cannot reach" -}}
{{- end -}}
{{- if and .Values.collector.podDisruptionBudget.enabled (kindIs "float64" .Values.collector.podDisruptionBudget.minAvailable) (ge (int .Values.collector.podDisruptionBudget.minAvailable) (int .Values.collector.replicas)) -}}
{{- fail (printf "collector.podDisruptionBudget.minAvailable (%v) is not less than collector.replicas (%v): no collector could ever be evicted (raise replicas or lower minAvailable)" .Values.collector.podDisruptionBudget.minAvailable .Values.collector.replicas) -}}
{{- end -}}
{{- end -}}

{{/*
NATS connection env, volume mounts and volumes of one component: (dict "ctx" $ "role" "agent"|"collector").
Secrets arrive as files (--nats-password-file, …), never as env values. Each component mounts only its own.
*/}}
{{- define "tcpstate.natsEnv" -}}
{{- $v := .ctx.Values -}}
- name: NATS_URL
  value: {{ include "tcpstate.natsUrl" .ctx | quote }}
{{- if and (eq .role "agent") $v.agent.natsNodeCredentials.enabled }}
- name: {{ ternary "NATS_NKEY" "NATS_CREDS" (eq $v.agent.natsNodeCredentials.type "nkey") }}
  value: /etc/tcpstate/nats-node/credentials
{{- else if $v.nats.enabled }}
- name: NATS_USER
  value: {{ .role | quote }}
- name: NATS_PASSWORD_FILE
  value: /etc/tcpstate/nats/password
{{- else }}
{{- $c := $v.nats.credentials }}
{{- if eq $c.type "password" }}
- name: NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "tcpstate.natsCredentialsSecret" .ctx }}
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
{{- end }}
{{- if $v.nats.tls.existingSecret }}
- name: NATS_TLS_CA
  value: /etc/tcpstate/nats-tls/ca.crt
{{- if and $v.nats.tls.clientCert (not $v.nats.enabled) }}
- name: NATS_TLS_CERT
  value: /etc/tcpstate/nats-tls/tls.crt
- name: NATS_TLS_KEY
  value: /etc/tcpstate/nats-tls/tls.key
{{- end }}
{{- end }}
{{- end -}}

{{/* The Secret with a component's NATS credentials ("" when it has none): (dict "ctx" $ "role" …). */}}
{{- define "tcpstate.natsCredentialsVolumeSecret" -}}
{{- $v := .ctx.Values -}}
{{- if and (eq .role "agent") $v.agent.natsNodeCredentials.enabled -}}
{{- else if $v.nats.enabled -}}
{{ include "tcpstate.nats.fullname" .ctx }}-{{ .role }}
{{- else if ne $v.nats.credentials.type "none" -}}
{{ include "tcpstate.natsCredentialsSecret" .ctx }}
{{- end -}}
{{- end -}}

{{- define "tcpstate.natsVolumeMounts" -}}
{{- $v := .ctx.Values -}}
{{- if include "tcpstate.natsCredentialsVolumeSecret" . }}
- name: nats-credentials
  mountPath: /etc/tcpstate/nats
  readOnly: true
{{- end }}
{{- if and (eq .role "agent") $v.agent.natsNodeCredentials.enabled }}
- name: nats-node-credentials
  mountPath: /etc/tcpstate/nats-node/credentials
  readOnly: true
{{- end }}
{{- if $v.nats.tls.existingSecret }}
- name: nats-tls
  mountPath: /etc/tcpstate/nats-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "tcpstate.natsVolumes" -}}
{{- $v := .ctx.Values -}}
{{- with include "tcpstate.natsCredentialsVolumeSecret" . }}
- name: nats-credentials
  secret:
    secretName: {{ . }}
    defaultMode: 0400
{{- end }}
{{- if and (eq .role "agent") $v.agent.natsNodeCredentials.enabled }}
- name: nats-node-credentials
  hostPath:
    path: {{ $v.agent.natsNodeCredentials.hostPath }}
    type: File
{{- end }}
{{- if $v.nats.tls.existingSecret }}
- name: nats-tls
  secret:
    secretName: {{ $v.nats.tls.existingSecret }}
    defaultMode: 0400
    {{- if $v.nats.enabled }}
    # The bundled NATS's Secret also holds its private key: agent and collector get only the CA.
    items:
      - key: ca.crt
        path: ca.crt
    {{- end }}
{{- end }}
{{- end -}}

{{/* A node name as one NATS subject token, as agent/wire/subjects.ts subjectToken makes it. */}}
{{- define "tcpstate.subjectToken" -}}
{{- regexReplaceAll "[.*>\\s]" . "_" -}}
{{- end -}}

{{/* "10Gi" → its bytes (an int64): (include … | int64) */}}
{{- define "tcpstate.bytes" -}}
{{- $n := regexFind "^[0-9]+" . | int64 -}}
{{- $unit := get (dict "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776) (regexFind "[A-Za-z]+$" .) -}}
{{- mul $n $unit -}}
{{- end -}}

{{/* The summaries stream's size bound: collector.maxBytes, or with auto 80 % of the bundled NATS's volume. */}}
{{- define "tcpstate.collector.maxBytes" -}}
{{- $m := .Values.collector.maxBytes -}}
{{- if ne (toString $m) "auto" -}}
{{ int64 $m }}
{{- else if .Values.nats.enabled -}}
{{ div (mul (include "tcpstate.bytes" .Values.nats.jetstream.storageSize | int64) 80) 100 }}
{{- else -}}
-1
{{- end -}}
{{- end -}}

{{/* The alert rules: chart defaults (the binary's defaults, collector/alerts/rules-file.ts: test/collector/alerts/chart-rule-defaults.test.ts keeps them equal), each rule merged with alerts.rules. */}}
{{- define "tcpstate.ruleDefaults" -}}
TimeWaitBuildup: {enabled: true, severity: warning, for: 2m, holdDown: 2m, floor: 500, factor: 4, baselineWindow: 1h, coldStartFloor: 10000, dangerLevel: 20000, runbookUrl: "https://github.com/tcpstate/tcpstate/blob/main/helm/tcpstate/README.md#timewaitbuildup", scope: {}}
SynRecvBuildup: {enabled: true, severity: critical, for: 1m, holdDown: 2m, floor: 50, factor: 4, baselineWindow: 1h, coldStartFloor: 50, runbookUrl: "https://github.com/tcpstate/tcpstate/blob/main/helm/tcpstate/README.md#synrecvbuildup", scope: {}}
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
