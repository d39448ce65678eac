{{/*
Duration bounds the values schema cannot state (a pattern has no maximum): each duration value within the range
the binary accepts (agent/config.ts, collector/config.ts), so `helm install` refuses what the agent or the
collector would refuse at start-up in a crash loop. test/helm/config-sweep.test.ts checks both sides agree.
*/}}

{{/* "1h30m" → milliseconds (a float), summing terms as the binary's common/duration.ts does. */}}
{{- define "tcpstate.durationMs" -}}
{{- $total := 0.0 -}}
{{- $unitMs := dict "h" 3600000.0 "m" 60000.0 "s" 1000.0 "ms" 1.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|h|m|s)" . -1 -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . | float64 -}}
{{- $total = addf $total (mulf $number (get $unitMs (regexReplaceAll "^[0-9.]+" . ""))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* (list "agent.interval" value minMs maxMs "1s" "5m"): fails naming the value when it is out of range. */}}
{{- define "tcpstate.durationWithin" -}}
{{- $name := index . 0 -}}{{- $value := index . 1 -}}
{{- $ms := include "tcpstate.durationMs" $value | float64 -}}
{{- if or (lt $ms (index . 2 | float64)) (gt $ms (index . 3 | float64)) -}}
{{- fail (printf "%s must be between %s and %s, got %q" $name (index . 4) (index . 5) $value) -}}
{{- end -}}
{{- end -}}

{{- define "tcpstate.durationBounds" -}}
{{- $_ := include "tcpstate.durationWithin" (list "agent.interval" .Values.agent.interval 1000 300000 "1s" "5m") -}}
{{- $c := .Values.collector -}}
{{- $_ = include "tcpstate.durationWithin" (list "collector.retention" $c.retention 60000 2592000000 "1m" "720h") -}}
{{- $_ = include "tcpstate.durationWithin" (list "collector.duplicateWindow" $c.duplicateWindow 60000 86400000 "1m" "24h") -}}
{{- $_ = include "tcpstate.durationWithin" (list "collector.history" $c.history 60000 604800000 "1m" "168h") -}}
{{- end -}}
