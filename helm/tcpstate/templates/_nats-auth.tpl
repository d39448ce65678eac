{{/*
Who may do what on the bundled NATS. Subjects and streams are the wire contract's (agent/wire/subjects.ts,
collector/alerts/alert-event.ts); the lists are what the agent's and collector's code paths use, found by running
them against nats-server with these permissions (test/helm/nats-auth.test.ts), nothing more.
*/}}

{{/*
An agent: publish its summaries (JetStream acknowledges on its _INBOX; publishing to a stream's subject needs no
$JS.API permission) and its live events; hear event leases and answer a lease request. No $JS.API at all: it can
neither read nor create nor delete a stream. (dict "node" …): one node's subject token, or ">" for every node's.
*/}}
{{- define "tcpstate.nats.agentPermissions" -}}
{
      publish: {allow: ["tcpstate.v1.summary.{{ .node }}", "tcpstate.v1.events.{{ .node }}"]}
      subscribe: {allow: ["_INBOX.>", "tcpstate.v1.control.events", "tcpstate.v1.control.events.{{ .node }}"]}
      allow_responses: true
    }
{{- end -}}

{{/*
The collector: its two streams created, brought to their settings and read with ordered consumers; alerts, dead
letters and event leases published; live events heard. No stream deletion, no other stream.
*/}}
{{- define "tcpstate.nats.collectorPermissions" -}}
{
      publish: {allow: [
        "$JS.API.INFO",
        {{- range $stream := list "TCPSTATE_SUMMARIES" "TCPSTATE_ALERTS" }}
        "$JS.API.STREAM.INFO.{{ $stream }}", "$JS.API.STREAM.CREATE.{{ $stream }}", "$JS.API.STREAM.UPDATE.{{ $stream }}",
        "$JS.API.CONSUMER.CREATE.{{ $stream }}.>", "$JS.API.CONSUMER.MSG.NEXT.{{ $stream }}.*",
        "$JS.API.CONSUMER.INFO.{{ $stream }}.*", "$JS.API.CONSUMER.DELETE.{{ $stream }}.*",
        {{- end }}
        "tcpstate.v1.alerts.>", "tcpstate.v1.deadletter", "tcpstate.v1.control.events"
      ]}
      subscribe: {allow: ["_INBOX.>", "tcpstate.v1.events.>"]}
    }
{{- end -}}

{{/* The authorization block of nats.conf: the users and what each may do. */}}
{{- define "tcpstate.nats.authorization" -}}
# The users' passwords (as variables), from the Secret {{ include "tcpstate.nats.fullname" . }}-auth.
include "../nats-auth/passwords.conf"
authorization {
  users = [
    {{- if .Values.nats.auth.agentNodeKeys }}
    {{- range $node, $key := .Values.nats.auth.agentNodeKeys }}
    # The agent of node {{ $node }}.
    {nkey: {{ $key }}, permissions: {{ include "tcpstate.nats.agentPermissions" (dict "node" (include "tcpstate.subjectToken" $node)) }}}
    {{- end }}
    {{- else }}
    {user: agent, password: $AGENT_PASSWORD, permissions: {{ include "tcpstate.nats.agentPermissions" (dict "node" ">") }}}
    {{- end }}
    {user: collector, password: $COLLECTOR_PASSWORD, permissions: {{ include "tcpstate.nats.collectorPermissions" . }}}
  ]
}
{{- end -}}

{{/*
The bundled NATS's passwords as YAML {agent, collector}: nats.auth.*Password when set, else the one in the
existing Secret (upgrades keep it), else a new random one (install; `helm template`, which has no cluster).
Drawn once per render and kept in the render's values: the Secret and the checksum annotations of NATS, the
agent and the collector (each includes the Secret's template) see the same passwords — were each include to draw
its own, the checksums would be of passwords never stored, and the first upgrade (which finds the stored ones)
would roll NATS, the agent and the collector for nothing.
*/}}
{{- define "tcpstate.natsPasswords" -}}
{{- if hasKey $.Values.nats.auth "_drawnThisRender" -}}
{{- toYaml (get $.Values.nats.auth "_drawnThisRender") -}}
{{- else -}}
{{- $out := dict -}}
{{- range $role := list "agent" "collector" -}}
{{- $given := get $.Values.nats.auth (printf "%sPassword" $role) -}}
{{- $existing := lookup "v1" "Secret" $.Release.Namespace (printf "%s-%s" (include "tcpstate.nats.fullname" $) $role) -}}
{{- if $given -}}
{{- $_ := set $out $role $given -}}
{{- else if and $existing $existing.data (hasKey $existing.data "password") -}}
{{- $_ := set $out $role (index $existing.data "password" | b64dec) -}}
{{- else -}}
{{- $_ := set $out $role (randAlphaNum 32) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $.Values.nats.auth "_drawnThisRender" $out -}}
{{- toYaml $out -}}
{{- end -}}
{{- end -}}

{{/* The bundled NATS's nats.conf. */}}
{{- define "tcpstate.nats.conf" -}}
{{- $n := .Values.nats -}}
port: {{ $n.port }}
http_port: {{ $n.monitorPort }}
server_name: $POD_NAME
lame_duck_duration: 30s
pid_file: /var/run/nats/nats.pid
# A summary is at most 1 MiB (the wire contract), about 1.7 KiB per pod; larger messages are refused.
max_payload: {{ int64 $n.maxPayload }}
jetstream {
  store_dir: /data
  max_memory_store: {{ include "tcpstate.bytes" $n.jetstream.maxMemory }}
  # 90 % of the volume (the filesystem keeps some); the collector bounds the summaries stream to 80 %.
  max_file_store: {{ div (mul (include "tcpstate.bytes" $n.jetstream.storageSize | int64) 90) 100 }}
}
{{- if $n.tls.existingSecret }}
tls {
  cert_file: /etc/nats-tls/tls.crt
  key_file: /etc/nats-tls/tls.key
  timeout: 5
}
{{- end }}
{{ include "tcpstate.nats.authorization" . }}
{{- end -}}
