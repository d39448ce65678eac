{{/*
The collector's HTTP alert sinks (Alertmanager, webhook): their URL and their credentials, which come from
Secrets only. The credentials are files (--<sink>-bearer-token-file, …) that the collector reads again on every
send, so a Secret that Kubernetes rotates is used from the next alert without a restart: that is why each sink's
Secret is mounted as a directory, never with subPath (a subPath mount is a copy made at pod start that the
kubelet never updates). The URL from urlSecret is an env value, read once at pod start.
*/}}

{{- define "tcpstate.alertSinks" -}}alertmanager webhook{{- end -}}

{{/* A key of a sink's existingSecret → the collector's env for it (flag --<sink>-<name>, upper-cased). */}}
{{- define "tcpstate.alertSinkKeyEnv" -}}
token: BEARER_TOKEN_FILE
password: BASIC_AUTH_PASSWORD_FILE
headers: HEADERS_FILE
ca.crt: TLS_CA_FILE
tls.crt: TLS_CERT_FILE
tls.key: TLS_KEY_FILE
{{- end -}}

{{- define "tcpstate.alertSinkDir" -}}/etc/tcpstate/sinks/{{ . }}{{- end -}}

{{/* The URL given in clear for a sink: collector.<sink>.url, or the older collector.<sink>Url. (dict "ctx" $ "sink" …) */}}
{{- define "tcpstate.alertSinkPlainUrl" -}}
{{- $c := .ctx.Values.collector -}}
{{- default (get $c (printf "%sUrl" .sink)) (get $c .sink).url -}}
{{- end -}}

{{/* What the schema cannot relate in collector.alertmanager / collector.webhook; fails naming the values. */}}
{{- define "tcpstate.alertSinksValidate" -}}
{{- $c := .Values.collector -}}
{{- range $sink := splitList " " (include "tcpstate.alertSinks" .) -}}
{{- $s := get $c $sink -}}
{{- $p := printf "collector.%s" $sink -}}
{{- $legacy := get $c (printf "%sUrl" $sink) -}}
{{- if and $legacy (or $s.url $s.urlSecret.name) -}}
{{- fail (printf "collector.%sUrl (%q) and %s.%s are both set: %s.url / urlSecret replace collector.%sUrl, set only one" $sink (include "tcpstate.redactUrl" $legacy) $p (ternary "url" "urlSecret" (not (empty $s.url))) $p $sink) -}}
{{- end -}}
{{- if and $s.url $s.urlSecret.name -}}
{{- fail (printf "%s.url (%q) and %s.urlSecret.name (%q) are both set: the URL comes from one of them" $p (include "tcpstate.redactUrl" $s.url) $p $s.urlSecret.name) -}}
{{- end -}}
{{- if include "tcpstate.urlHasUserinfo" $s.url -}}
{{- fail (printf "%s.url (%q) holds user:password@, which would sit in the Deployment spec in clear: put the URL in a Secret (%s.urlSecret), or the password in %s.existingSecret (key password) with %s.basicAuthUser" $p (include "tcpstate.redactUrl" $s.url) $p $p $p) -}}
{{- end -}}
{{- if and $s.existingSecret (not $s.existingSecretKeys) -}}
{{- fail (printf "%s.existingSecret (%q) is set but %s.existingSecretKeys is empty: list the keys it holds (token, password, headers, ca.crt, tls.crt, tls.key)" $p $s.existingSecret $p) -}}
{{- end -}}
{{- if and $s.existingSecretKeys (not $s.existingSecret) -}}
{{- fail (printf "%s.existingSecretKeys (%s) is set but %s.existingSecret is empty: name the Secret that holds them" $p (join ", " $s.existingSecretKeys) $p) -}}
{{- end -}}
{{- if and (or $s.existingSecret $s.basicAuthUser) (not (or $legacy $s.url $s.urlSecret.name)) -}}
{{- fail (printf "%s has credentials (existingSecret or basicAuthUser) but no URL: set %s.url or %s.urlSecret" $p $p $p) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when a URL holds user[:password]@, else "". */}}
{{- define "tcpstate.urlHasUserinfo" -}}
{{- if regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@" . }}true{{ end -}}
{{- end -}}

{{/* A URL as it may be printed: user:password@ → ***@ (as the collector's redactUrl). */}}
{{- define "tcpstate.redactUrl" -}}
{{- regexReplaceAll "^([A-Za-z][A-Za-z0-9+.-]*://)?[^/?#]*@" . "${1}***@" -}}
{{- end -}}

{{/* The collector's env for its HTTP sinks: URLs, basic-auth users, and a *_FILE for each listed Secret key. */}}
{{- define "tcpstate.alertSinksEnv" -}}
{{- $ctx := . -}}
{{- $keyEnv := include "tcpstate.alertSinkKeyEnv" . | fromYaml -}}
{{- range $sink := splitList " " (include "tcpstate.alertSinks" .) -}}
{{- $s := get $ctx.Values.collector $sink -}}
{{- $prefix := upper $sink -}}
{{- with include "tcpstate.alertSinkPlainUrl" (dict "ctx" $ctx "sink" $sink) }}
- name: {{ $prefix }}_URL
  value: {{ . | quote }}
{{- end }}
{{- with $s.urlSecret.name }}
- name: {{ $prefix }}_URL
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $s.urlSecret.key }}
{{- end }}
{{- with $s.basicAuthUser }}
- name: {{ $prefix }}_BASIC_AUTH_USER
  value: {{ . | quote }}
{{- end }}
{{- if $s.existingSecret }}
{{- range $key := $s.existingSecretKeys }}
- name: {{ $prefix }}_{{ get $keyEnv $key }}
  value: {{ include "tcpstate.alertSinkDir" $sink }}/{{ $key }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "tcpstate.alertSinksVolumeMounts" -}}
{{- range $sink := splitList " " (include "tcpstate.alertSinks" .) -}}
{{- if (get $.Values.collector $sink).existingSecret }}
- name: sink-{{ $sink }}
  mountPath: {{ include "tcpstate.alertSinkDir" $sink }}
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/*
Only the listed keys are projected: nothing else the Secret holds reaches the pod, and a listed key the Secret
lacks keeps the pod from starting (the kubelet names the key) instead of pointing a flag at a missing file.
*/}}
{{- define "tcpstate.alertSinksVolumes" -}}
{{- range $sink := splitList " " (include "tcpstate.alertSinks" .) -}}
{{- $s := get $.Values.collector $sink -}}
{{- if $s.existingSecret }}
- name: sink-{{ $sink }}
  secret:
    secretName: {{ $s.existingSecret }}
    defaultMode: 0400
    items:
      {{- range $key := $s.existingSecretKeys }}
      - key: {{ $key }}
        path: {{ $key }}
      {{- end }}
{{- end }}
{{- end }}
{{- end -}}
