# Shell helpers shared by bench/run, bench/count-calls and bench/profile.
# Source it after `set -euo pipefail`; it installs an EXIT trap that stops
# every process registered with `started`.

declare -a bench_pids=()

# Registers PID to be stopped when the script exits.
started() {
  bench_pids+=("$1")
}

# Stops every registered process by pid: SIGTERM, up to 3 s for them to
# exit, then SIGKILL for any that remain.
stop_started() {
  local pid alive
  for pid in "${bench_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${bench_pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${bench_pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop_started EXIT

# Prints a TCP port on which nothing listens.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 20000))
    if ! ss -ltnH "sport = :$port" | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  echo "no free TCP port found in 20000-39999" >&2
  return 1
}

# Waits until something listens on PORT, at most 10 s. NAME and LOG go
# into the error message.
wait_listening() {
  local port=$1 name=$2 log=$3
  for _ in $(seq 1 100); do
    if ss -ltnH "sport = :$port" | grep -q .; then
      return 0
    fi
    sleep 0.1
  done
  echo "$name is not listening on 127.0.0.1:$port after 10 s; see $log" >&2
  return 1
}

# Creates a CA in DIR with `sanctum ca`, a server certificate for
# localhost, 127.0.0.1 and ::1, and the client certificate
# clients/bench-client.crt.
make_pki() {
  local sanctum=$1 dir=$2
  "$sanctum" ca init --dir "$dir" >/dev/null
  "$sanctum" ca issue server --server --dir "$dir" >/dev/null
  "$sanctum" ca issue bench-client --client --dir "$dir" >/dev/null
}

# Starts the echo upstream on CPU 0 (taskset) and sets up_port.
start_upstream() {
  local sanctum=$1 dir=$2 delay=$3
  up_port=$(free_port)
  mkdir -p "$dir"
  taskset -c 0 "$sanctum" echo --listen "127.0.0.1:$up_port" --chunk-delay "$delay" --threads 1 \
    --log-level warn >"$dir/log" 2>&1 &
  started $!
  wait_listening "$up_port" upstream "$dir/log"
}

# Starts `sanctum serve` with one thread on CPU 0 in front of up_port and
# sets sanctum_port and sanctum_pid. Extra environment (LD_PRELOAD) comes
# from the caller's `env` prefix in SANCTUM_ENV; arguments after the third
# are passed to `sanctum serve`.
start_sanctum() {
  local sanctum=$1 dir=$2 ca=$3
  shift 3
  sanctum_port=$(free_port)
  mkdir -p "$dir"
  env ${SANCTUM_ENV:-} SANCTUM_HOME="$ca" taskset -c 0 "$sanctum" serve \
    --listen "127.0.0.1:$sanctum_port" --cert "$ca/server.crt" --key "$ca/server.key" \
    --client-ca "$ca/ca.crt" --crl "$ca/crl.pem" --upstream "http://127.0.0.1:$up_port" \
    --threads 1 --access-log "" --log-level warn "$@" >"$dir/log" 2>&1 &
  sanctum_pid=$!
  started "$sanctum_pid"
  wait_listening "$sanctum_port" sanctum "$dir/log"
}
