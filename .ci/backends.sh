# Real trace back ends for spanmeter's export tests (test/export-backends.test.mjs).
#
# Sourced by .ci/run (or by hand: `source .ci/backends.sh && npm test`) from the
# repository root. It installs, into .ci/.tools/ (git-ignored):
#   - Jaeger v2 (Go; module github.com/jaegertracing/jaeger v1.76.0 = Jaeger v2.13.0),
#     built from the Go module proxy with `go get -tool` + `go install tool`
#     (the module has a replace directive, so a plain `go install …@version` refuses);
#   - the Zipkin server, io.zipkin:zipkin-server:3.5.1:exec from Maven Central (Java 17+),
# starts both in the background on 127.0.0.1 (free ports chosen here), waits until
# they answer, and exports:
#   SPANMETER_JAEGER_OTLP_URL   Jaeger's OTLP/HTTP traces endpoint
#   SPANMETER_JAEGER_QUERY_URL  Jaeger's query API (GET /api/traces?service=…)
#   SPANMETER_ZIPKIN_URL        the Zipkin server (POST /api/v2/spans, GET /api/v2/traces)
# `stop_backends` stops them (.ci/run calls it after the tests).
#
# Cost: the Jaeger build is the long part — about 12 minutes cold on a 2-core
# machine (module download and compile), seconds once the Go module and build
# caches are warm; the binary is kept in .ci/.tools/bin and reused while the pin
# is unchanged. The Zipkin jar is about 130 MB (about 20 s to fetch); the server
# starts in 10–20 s.

SPANMETER_JAEGER_MODULE_VERSION="v1.76.0"
SPANMETER_ZIPKIN_VERSION="3.5.1"

_sm_root="$(pwd)"
_sm_tools="${_sm_root}/.ci/.tools"

_sm_log() { echo "[backends] $*"; }

_sm_free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})"
}

_sm_wait_http() { # url seconds
  local url="$1" seconds="$2" i
  for ((i = 0; i < seconds * 4; i++)); do
    # node rather than curl: node is certain to be on the machine
    if node -e 'const r=require("http").get(process.argv[1],{timeout:2000},(res)=>process.exit(res.statusCode<400?0:1));r.on("error",()=>process.exit(1));r.on("timeout",()=>{r.destroy();process.exit(1)})' "$url"; then return 0; fi
    sleep 0.25
  done
  return 1
}

_sm_install_jaeger() {
  local bin="${_sm_tools}/bin/jaeger" stamp="${_sm_tools}/bin/jaeger.version"
  if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SPANMETER_JAEGER_MODULE_VERSION" ]; then
    _sm_log "jaeger ${SPANMETER_JAEGER_MODULE_VERSION} already built"
    return 0
  fi
  command -v go >/dev/null || { _sm_log "go is not installed"; return 1; }
  local mod="${_sm_tools}/jaeger-module" started=$SECONDS
  rm -rf "$mod" && mkdir -p "$mod" "${_sm_tools}/bin" || return 1
  _sm_log "building jaeger ${SPANMETER_JAEGER_MODULE_VERSION} with $(go version) (about 12 minutes cold)"
  (
    cd "$mod" &&
      export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOBIN="${_sm_tools}/bin" &&
      go mod init spanmeter-ci-tools >/dev/null 2>&1 &&
      go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@${SPANMETER_JAEGER_MODULE_VERSION}" >"${_sm_tools}/jaeger-build.log" 2>&1 &&
      go install tool >>"${_sm_tools}/jaeger-build.log" 2>&1
  ) || {
    _sm_log "jaeger build failed:"
    tail -n 20 "${_sm_tools}/jaeger-build.log"
    return 1
  }
  echo "$SPANMETER_JAEGER_MODULE_VERSION" >"$stamp"
  _sm_log "jaeger built in $((SECONDS - started)) s"
}

_sm_install_zipkin() {
  local jar="${_sm_tools}/zipkin-server-${SPANMETER_ZIPKIN_VERSION}-exec.jar"
  if [ -s "$jar" ]; then
    _sm_log "zipkin ${SPANMETER_ZIPKIN_VERSION} already fetched"
    return 0
  fi
  command -v java >/dev/null || { _sm_log "java is not installed"; return 1; }
  local major
  major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  if [ -z "$major" ] || [ "$major" -lt 17 ]; then
    _sm_log "the Zipkin server needs Java 17 or later (found: ${major:-none})"
    return 1
  fi
  command -v mvn >/dev/null || { _sm_log "mvn is not installed"; return 1; }
  local started=$SECONDS
  mkdir -p "$_sm_tools" || return 1
  mvn -q -B dependency:get "-Dartifact=io.zipkin:zipkin-server:${SPANMETER_ZIPKIN_VERSION}:jar:exec" -Dtransitive=false >"${_sm_tools}/zipkin-fetch.log" 2>&1 || {
    _sm_log "fetching the Zipkin server failed:"
    tail -n 20 "${_sm_tools}/zipkin-fetch.log"
    return 1
  }
  local repo="${HOME}/.m2/repository" path="io/zipkin/zipkin-server/${SPANMETER_ZIPKIN_VERSION}/zipkin-server-${SPANMETER_ZIPKIN_VERSION}-exec.jar"
  # A settings.xml may move the local repository: ask Maven where it is.
  [ -f "${repo}/${path}" ] || repo="$(mvn -q -B help:evaluate -Dexpression=settings.localRepository -DforceStdout 2>/dev/null)"
  cp "${repo}/${path}" "$jar" || return 1
  _sm_log "zipkin fetched in $((SECONDS - started)) s"
}

_sm_start_jaeger() {
  export SPANMETER_JAEGER_OTLP_PORT SPANMETER_JAEGER_QUERY_PORT SPANMETER_JAEGER_QUERY_GRPC_PORT SPANMETER_JAEGER_HEALTH_PORT
  SPANMETER_JAEGER_OTLP_PORT="$(_sm_free_port)"
  SPANMETER_JAEGER_QUERY_PORT="$(_sm_free_port)"
  SPANMETER_JAEGER_QUERY_GRPC_PORT="$(_sm_free_port)"
  SPANMETER_JAEGER_HEALTH_PORT="$(_sm_free_port)"
  "${_sm_tools}/bin/jaeger" --config "${_sm_root}/.ci/jaeger.yaml" >"${_sm_tools}/jaeger.log" 2>&1 &
  _SM_JAEGER_PID=$!
  if ! _sm_wait_http "http://127.0.0.1:${SPANMETER_JAEGER_HEALTH_PORT}/status" 60 ||
    ! _sm_wait_http "http://127.0.0.1:${SPANMETER_JAEGER_QUERY_PORT}/api/services" 30; then
    _sm_log "jaeger did not come up:"
    tail -n 20 "${_sm_tools}/jaeger.log"
    return 1
  fi
  export SPANMETER_JAEGER_OTLP_URL="http://127.0.0.1:${SPANMETER_JAEGER_OTLP_PORT}/v1/traces"
  export SPANMETER_JAEGER_QUERY_URL="http://127.0.0.1:${SPANMETER_JAEGER_QUERY_PORT}"
  _sm_log "jaeger up: OTLP ${SPANMETER_JAEGER_OTLP_URL}, query ${SPANMETER_JAEGER_QUERY_URL} (pid ${_SM_JAEGER_PID})"
}

_sm_start_zipkin() {
  local port started=$SECONDS
  port="$(_sm_free_port)"
  STORAGE_TYPE=mem java -Xms64m -Xmx512m -jar "${_sm_tools}/zipkin-server-${SPANMETER_ZIPKIN_VERSION}-exec.jar" \
    "--armeria.ports[0].port=${port}" "--armeria.ports[0].ip=127.0.0.1" "--armeria.ports[0].protocols=http" \
    >"${_sm_tools}/zipkin.log" 2>&1 &
  _SM_ZIPKIN_PID=$!
  if ! _sm_wait_http "http://127.0.0.1:${port}/health" 120; then
    _sm_log "zipkin did not come up:"
    tail -n 20 "${_sm_tools}/zipkin.log"
    return 1
  fi
  export SPANMETER_ZIPKIN_URL="http://127.0.0.1:${port}"
  _sm_log "zipkin up in $((SECONDS - started)) s: ${SPANMETER_ZIPKIN_URL} (pid ${_SM_ZIPKIN_PID})"
}

stop_backends() {
  local pid
  for pid in ${_SM_JAEGER_PID:-} ${_SM_ZIPKIN_PID:-}; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  _SM_JAEGER_PID=""
  _SM_ZIPKIN_PID=""
  unset SPANMETER_JAEGER_OTLP_URL SPANMETER_JAEGER_QUERY_URL SPANMETER_ZIPKIN_URL
  _sm_log "stopped"
}

_sm_start_backends() {
  _sm_install_jaeger || return 1
  _sm_install_zipkin || return 1
  _sm_start_jaeger || { stop_backends; return 1; }
  _sm_start_zipkin || { stop_backends; return 1; }
}

_sm_start_backends
